import { existsSync } from "node:fs";
import type { ChartOption } from "./page.js";

/** Fonts tried, in order, for the text of PNG charts (Debian's fonts-dejavu-core, fonts-liberation). */
const FONT_CANDIDATES: [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans"],
  ["/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", "Liberation Sans"],
  ["/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVu Sans"],
  ["/Library/Fonts/Arial.ttf", "Arial"],
];

export interface PngOptions {
  /** CSS pixels (default 1200 × 700); the PNG has `scale` × as many (default 2). */
  width?: number;
  height?: number;
  scale?: number;
  title?: string;
  subtitle?: string;
}

export interface PngChart {
  png: Buffer;
  /** Why the text may be missing (no font found). */
  warnings: string[];
}

/** A chart option drawn to SVG in this process by ECharts' server-side renderer (title and subtitle on top). */
export async function renderChartSvg(option: ChartOption, opts: PngOptions = {}): Promise<string> {
  const width = opts.width ?? 1200;
  const height = opts.height ?? 700;
  const echarts = await import("echarts");
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  const titled = opts.title
    ? {
        ...option,
        title: { text: opts.title, subtext: opts.subtitle ?? "", left: "center", top: 4, textStyle: { fontSize: 16 }, subtextStyle: { fontSize: 12 } },
        grid: { ...((option["grid"] as Record<string, unknown>) ?? {}), top: opts.subtitle ? 96 : 76 },
        // Server-side text widths are estimates: leave room between legend items.
        legend: { ...((option["legend"] as Record<string, unknown>) ?? {}), top: opts.subtitle ? 58 : 40, itemGap: 28 },
      }
    : option;
  chart.setOption({ ...titled, backgroundColor: "#ffffff", animation: false });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/**
 * A chart option drawn to PNG without a browser: ECharts renders it to SVG in this process (its
 * server-side mode), resvg rasterises the SVG with the system's fonts.
 */
export async function renderChartPng(option: ChartOption, opts: PngOptions = {}): Promise<PngChart> {
  const svg = await renderChartSvg(option, opts);
  const font = FONT_CANDIDATES.find(([file]) => existsSync(file));
  const warnings = font ? [] : ["no TrueType font found (e.g. apt-get install fonts-dejavu-core): the PNG's text may be missing"];
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    font: {
      loadSystemFonts: true,
      ...(font ? { fontFiles: [font[0]], defaultFontFamily: font[1], sansSerifFamily: font[1] } : {}),
    },
  });
  return { png: resvg.render().asPng(), warnings };
}
