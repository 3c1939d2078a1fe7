import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CDF_POINTS, ITERATION_BUCKETS, renderRunHtml } from "../src/runReport.js";
import { renderSweepHtml } from "../src/sweepReport.js";
import { chromiumMissing, drawings, launch, open, screenshot } from "./browser.js";
import { engineRun, sweepInput } from "./fixtures.js";
import { tempDir } from "./helpers.js";

describe("report HTML (no browser)", () => {
  it("is one file: the library and the data inline, nothing loaded from elsewhere", () => {
    const html = renderRunHtml(engineRun());
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    // One script element each: the library, the data, the page's own script; none ends early.
    expect(html.match(/<script/g)?.length).toBe(3);
    expect(html.match(/<\/script>/g)?.length).toBe(3);
    const markup = html.replace(/<script[^>]*>[\s\S]*?<\/script>/g, "<script></script>");
    expect(markup.length).toBeLessThan(20_000);
    expect(/<(script|link|img|iframe)[^>]+(src|href)=/i.test(markup)).toBe(false);
    expect(/@import|url\(\s*['"]?https?:/i.test(markup)).toBe(false);
    expect(markup.includes("report &#60;text&#62; &#38; more")).toBe(true);
  });

  it("keeps every point of short series and reduces long ones to the min and max of each bucket", () => {
    const run = engineRun();
    const html = renderRunHtml(run);
    const data = JSON.parse(/<script type="application\/json" id="servesim-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      charts: { id: string; option: { series: { data: unknown[] }[] } }[];
    };
    const byId = new Map(data.charts.map((c) => [c.id, c.option.series]));
    expect(byId.get("cdf-ttft")![0]!.data).toHaveLength(Math.min(CDF_POINTS, 600));
    const n = run.iterations.length;
    expect(n).toBeGreaterThan(2 * ITERATION_BUCKETS);
    for (const id of ["iter-batch", "iter-tokens", "iter-kv", "iter-queue"])
      for (const s of byId.get(id)!) expect(s.data.length).toBeLessThanOrEqual(2 * ITERATION_BUCKETS);
    const queue = byId.get("iter-queue")![0]!.data as [number, number][];
    expect(Math.max(...queue.map((p) => p[1]))).toBe(Math.max(...run.iterations.map((s) => s.numQueuedRequests)));
  });
});

const missing = chromiumMissing();
if (missing) console.warn(`services/html browser tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)("report HTML in headless Chromium", () => {
  let browser: Browser;
  const dir = tempDir();
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("a run: every CDF and time series drew every point, the objectives' lines, the tables; no outside request", async () => {
    const file = join(dir, "run.html");
    writeFileSync(file, renderRunHtml(engineRun()));
    const { page, requests, errors } = await open(browser, file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const d = await drawings(page);
      expect(d.series.map((s) => s.chart)).toEqual([
        "cdf-ttft",
        "cdf-tpot",
        "cdf-itl",
        "cdf-e2e",
        "iter-batch",
        "iter-batch",
        "iter-tokens",
        "iter-tokens",
        "iter-kv",
        "iter-queue",
        "iter-queue",
      ]);
      for (const s of d.series) {
        expect(s.drawn, `${s.chart} / ${s.series}`).toBe(s.expected);
        expect(s.expected, `${s.chart} / ${s.series}`).toBeGreaterThan(1);
      }
      // TTFT, TPOT and ITL have an objective each: one dashed line on their CDF.
      expect(d.guides.filter((g) => g.expected > 0).map((g) => [g.chart, g.expected, g.drawn])).toEqual([
        ["cdf-ttft", 1, 1],
        ["cdf-tpot", 1, 1],
        ["cdf-itl", 1, 1],
      ]);
      const rows = await page.$$eval("#latency-table tbody tr", (trs) => trs.map((tr) => tr.children[0]!.textContent));
      expect(rows).toEqual(["TTFT", "TPOT", "ITL", "E2EL"]);
      expect(await page.$$eval("#goodput-table tbody tr", (trs) => trs.length)).toBe(3);
      console.log(`run report screenshot: ${await screenshot(page, "run-report.png")}`);
    } finally {
      await page.close();
    }
  });

  it("a search: the Pareto chart, goodput bars, sortable table with the chosen row", async () => {
    const input = sweepInput();
    const file = join(dir, "search.html");
    writeFileSync(file, renderSweepHtml(input));
    const { page, requests, errors } = await open(browser, file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const d = await drawings(page);
      for (const s of d.series) expect(s.drawn, `${s.chart} / ${s.series}`).toBe(s.expected);
      const pareto = d.series.filter((s) => s.chart === "pareto");
      expect(pareto.map((s) => s.series)).toEqual(["meets the objectives", "misses an objective", "Pareto frontier", "chosen: tp2 c2"]);
      // 23 drawn points (one failed) split between the two scatter series, plus their legend icons.
      expect(pareto[0]!.expected + pareto[1]!.expected).toBe(23 + 2);
      // tpot and itl objectives as speed lines.
      expect(d.guides.find((g) => g.chart === "pareto")).toEqual({ chart: "pareto", expected: 2, drawn: 2 });
      expect(await page.title()).toBe("search <llama> & friends");
      const column = (i: number) => page.$$eval("#points tbody tr", (trs, k) => trs.map((tr) => tr.children[k]!.textContent ?? ""), i);
      // Sorted by goodput/GPU, best first; the failed point last.
      const goodput = (await column(4)).map((t) => (t === "\u2014" ? null : Number(t.replace(/,/g, ""))));
      expect(goodput.at(-1)).toBeNull();
      const values = goodput.slice(0, -1) as number[];
      expect(values).toEqual([...values].sort((a, b) => b - a));
      expect(await page.$$eval("#points tbody tr.hi", (trs) => trs.map((tr) => tr.children[0]!.textContent))).toEqual(["tp2 c2"]);
      // Click "concurrency": ascending, then descending.
      await page.click("#points thead th:nth-child(3)");
      const asc = (await column(2)).map(Number);
      expect(asc).toEqual([...asc].sort((a, b) => a - b));
      expect(await page.getAttribute("#points thead th:nth-child(3)", "aria-sort")).toBe("ascending");
      await page.click("#points thead th:nth-child(3)");
      const desc = (await column(2)).map(Number);
      expect(desc).toEqual([...desc].sort((a, b) => b - a));
      console.log(`search report screenshot: ${await screenshot(page, "search-report.png")}`);
    } finally {
      await page.close();
    }
  });
});
