/** Opens a report in headless Debian Chromium (playwright-core) and checks what it drew against its data. */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env["SERVESIM_CHROMIUM"] ?? "/usr/bin/chromium";
/** The project's headless flags (docs/GUIDE: real components where users have them). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`;

/** Screenshots land here, beside the test output. */
export const SCREENSHOT_DIR = resolve(import.meta.dirname, "../../../test-results/html");

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

export interface Opened {
  page: Page;
  /** Every URL the page asked for besides its own file. */
  requests: string[];
  /** Uncaught errors and console errors. */
  errors: string[];
}

/** Opens a file with every outside request blocked and recorded; waits until the page's script is done. */
export async function open(browser: Browser, file: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.route("**/*", (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { servesimReport?: { ready: boolean } }).servesimReport?.ready === true, null, {
    timeout: 60_000,
  });
  return { page, requests, errors };
}

export interface SeriesDrawing {
  chart: string;
  series: string;
  /** Points in the embedded data (and one more when the series has a legend icon). */
  expected: number;
  /** SVG elements filled with the series' color inside the chart. */
  drawn: number;
}

/**
 * For every series of every chart: the elements drawn in its color against its data points (bars and
 * symbols; one more for its legend icon). Guide lines: dashed strokes against the mark lines' data.
 */
export async function drawings(page: Page): Promise<{ series: SeriesDrawing[]; guides: { chart: string; expected: number; drawn: number }[] }> {
  return page.evaluate(() => {
    // This runs in the page (no DOM types in the tests' compilation: the few used are declared here).
    type Opt = { legend?: { data: string[] }; series: { name: string; color: string; data: unknown[]; markLine?: { data: unknown[] } }[] };
    type El = { getAttribute(name: string): string | null; querySelectorAll(selector: string): ArrayLike<El> };
    const g = globalThis as unknown as { servesimReport: { data: { charts: { id: string; option: Opt }[] } }; document: { getElementById(id: string): El } };
    const report = g.servesimReport;
    const series: { chart: string; series: string; expected: number; drawn: number }[] = [];
    const guides: { chart: string; expected: number; drawn: number }[] = [];
    for (const c of report.data.charts) {
      const el = g.document.getElementById(c.id);
      const paths = Array.from(el.querySelectorAll("svg path"));
      let marks = 0;
      for (const s of c.option.series) {
        const points = s.data.filter((d) => d !== "-").length;
        const legend = c.option.legend?.data.includes(s.name) ? 1 : 0;
        series.push({ chart: c.id, series: s.name, expected: points + legend, drawn: paths.filter((p) => p.getAttribute("fill") === s.color).length });
        marks += s.markLine?.data.length ?? 0;
      }
      guides.push({
        chart: c.id,
        expected: marks,
        drawn: paths.filter((p) => p.getAttribute("stroke-dasharray") !== null && p.getAttribute("fill") === "none").length,
      });
    }
    return { series, guides };
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
