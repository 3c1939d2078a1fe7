import { describe, expect, it } from "vitest";
import { renderChartPng, renderChartSvg } from "../src/png.js";
import { paretoChartOption } from "../src/sweepReport.js";
import { sweepInput } from "./fixtures.js";

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("charts without a browser (--plot)", () => {
  const input = sweepInput();
  const option = paretoChartOption(input);

  it("the SVG holds every point of every series, the title and the objective lines", async () => {
    const svg = await renderChartSvg(option, { width: 900, height: 500, title: "Pareto <frontier>", subtitle: "24 configurations" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("Pareto &lt;frontier&gt;");
    expect(svg).toContain("output tokens/s per GPU");
    const series = option["series"] as { name: string; color: string; data: unknown[] }[];
    for (const s of series) {
      const fills = svg.match(new RegExp(`<path[^>]*fill="${s.color}"`, "g"))?.length ?? 0;
      expect(fills, s.name).toBe(s.data.length + 1); // + its legend icon
    }
    expect(svg.match(/stroke-dasharray/g)?.length).toBe(2);
  });

  it("the PNG is scale × the CSS size", async () => {
    const { png, warnings } = await renderChartPng(option, { width: 800, height: 450, scale: 2, title: "Pareto" });
    expect(pngSize(png)).toEqual({ width: 1600, height: 900 });
    expect(png.length).toBeGreaterThan(20_000);
    expect(Array.isArray(warnings)).toBe(true);
  });
});
