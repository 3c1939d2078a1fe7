/**
 * ECharts options as plain JSON, one builder per chart shape. Every data point is drawn as its own
 * symbol (or bar) in its series' own color, so the drawing can be checked against the data: a chart's
 * SVG holds, per series color, one element per point (plus one legend icon when the legend is shown).
 */
import type { ChartOption } from "./page.js";
import type { Point } from "./series.js";

export const COLORS = {
  blue: "#2f6fde",
  orange: "#e8772e",
  green: "#1f9e5a",
  purple: "#8a56c2",
  red: "#d23c3c",
  teal: "#1598a8",
  grey: "#9aa3ae",
  gold: "#d9a300",
} as const;

/** Guide lines drawn across a chart (thresholds), dashed, not data. */
export interface GuideLine {
  axis: "x" | "y";
  value: number;
  label: string;
  color?: string;
}

export interface LineSeries {
  name: string;
  color: string;
  points: Point[];
  /** Symbol diameter in px (default 3). */
  symbolSize?: number;
}

export interface ScatterSeries {
  name: string;
  color: string;
  /** value = [x, y]; name is shown in the tooltip. */
  points: { name: string; value: Point }[];
  symbolSize?: number;
  /** Connect the points in order with a line (a frontier). */
  line?: boolean;
}

/** 1, 2, 2.5 or 5 × 10^k at or above v (v > 0). */
export function niceCeil(v: number): number {
  if (!(v > 0)) return v;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v * (1 - 1e-12))!;
}

/**
 * Axis bounds that keep every guide line in view: when a guide lies beyond the data, the axis is
 * extended to a round value past it (ECharts would otherwise fit the axis to the data and drop the line).
 */
function guideBounds(values: number[], guides: readonly GuideLine[], axis: "x" | "y"): { min?: number; max?: number } {
  const g = guides.filter((l) => l.axis === axis).map((l) => l.value);
  if (g.length === 0 || values.length === 0) return {};
  const dataMax = Math.max(...values);
  const dataMin = Math.min(...values);
  const out: { min?: number; max?: number } = {};
  if (Math.max(...g) > dataMax) out.max = niceCeil(Math.max(...g) * 1.05);
  if (Math.min(...g) < dataMin) out.min = Math.min(...g) >= 0 ? 0 : -niceCeil(-Math.min(...g) * 1.05);
  return out;
}

const AXIS_NAME = { nameLocation: "middle", nameTextStyle: { color: "#5b6573" } } as const;

function guideMarkLine(guides: readonly GuideLine[]): Record<string, unknown> | undefined {
  if (guides.length === 0) return undefined;
  return {
    silent: true,
    symbol: ["none", "none"],
    animation: false,
    label: { formatter: "{b}", position: "insideEndTop", color: "#b02a2a", fontSize: 11 },
    data: guides.map((g) => ({
      name: g.label,
      [g.axis === "x" ? "xAxis" : "yAxis"]: g.value,
      lineStyle: { type: "dashed", width: 1.5, color: g.color ?? COLORS.red },
    })),
  };
}

function base(opts: {
  xName: string;
  yName: string;
  legend: string[];
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  zoom?: boolean;
}): ChartOption {
  return {
    animation: false,
    grid: { left: 70, right: 28, top: opts.legend.length > 0 ? 40 : 20, bottom: 52 },
    tooltip: { trigger: "axis", axisPointer: { type: "cross" }, confine: true },
    ...(opts.legend.length > 0 ? { legend: { top: 6, icon: "rect", itemWidth: 14, itemHeight: 8, data: opts.legend } } : {}),
    xAxis: {
      type: "value",
      name: opts.xName,
      ...AXIS_NAME,
      nameGap: 30,
      scale: opts.xMin === undefined,
      ...(opts.xMin !== undefined ? { min: opts.xMin } : {}),
      ...(opts.xMax !== undefined ? { max: opts.xMax } : {}),
    },
    yAxis: {
      type: "value",
      name: opts.yName,
      ...AXIS_NAME,
      nameGap: 50,
      ...(opts.yMin !== undefined ? { min: opts.yMin } : {}),
      ...(opts.yMax !== undefined ? { max: opts.yMax } : {}),
    },
    ...(opts.zoom ? { dataZoom: [{ type: "inside", filterMode: "none" }] } : {}),
  };
}

/** Lines over a value x axis, a symbol at every point. */
export function lineChart(opts: {
  xName: string;
  yName: string;
  series: LineSeries[];
  guides?: GuideLine[];
  xMin?: number;
  yMin?: number;
  yMax?: number;
  zoom?: boolean;
}): ChartOption {
  const legend = opts.series.length > 1 ? opts.series.map((s) => s.name) : [];
  const mark = guideMarkLine(opts.guides ?? []);
  const xb = guideBounds(
    opts.series.flatMap((s) => s.points.map((p) => p[0])),
    opts.guides ?? [],
    "x",
  );
  return {
    ...base({
      ...opts,
      legend,
      ...(opts.xMin === undefined && xb.min !== undefined ? { xMin: xb.min } : {}),
      ...(xb.max !== undefined ? { xMax: xb.max } : {}),
    }),
    series: opts.series.map((s, i) => ({
      type: "line",
      name: s.name,
      data: s.points,
      color: s.color,
      symbol: "circle",
      symbolSize: s.symbolSize ?? 3,
      showSymbol: true,
      showAllSymbol: true,
      lineStyle: { width: 1.2, color: s.color },
      itemStyle: { color: s.color },
      emphasis: { disabled: true },
      ...(i === 0 && mark ? { markLine: mark } : {}),
    })),
  };
}

/** Points (optionally joined), one symbol per point, item tooltips naming each point. */
export function scatterChart(opts: { xName: string; yName: string; series: ScatterSeries[]; guides?: GuideLine[]; xMin?: number; yMin?: number }): ChartOption {
  const legend = opts.series.map((s) => s.name);
  const mark = guideMarkLine(opts.guides ?? []);
  const xb = guideBounds(
    opts.series.flatMap((s) => s.points.map((p) => p.value[0])),
    opts.guides ?? [],
    "x",
  );
  const b = base({
    ...opts,
    legend,
    ...(opts.xMin === undefined && xb.min !== undefined ? { xMin: xb.min } : {}),
    ...(xb.max !== undefined ? { xMax: xb.max } : {}),
  });
  return {
    ...b,
    tooltip: { trigger: "item", confine: true },
    series: opts.series.map((s, i) => ({
      type: s.line ? "line" : "scatter",
      name: s.name,
      data: s.points,
      color: s.color,
      symbol: "circle",
      symbolSize: s.symbolSize ?? 8,
      itemStyle: { color: s.color },
      emphasis: { disabled: true },
      ...(s.line ? { showSymbol: true, showAllSymbol: true, lineStyle: { width: 1.5, color: s.color }, z: 3 } : { progressive: 0, large: false }),
      ...(i === 0 && mark ? { markLine: mark } : {}),
    })),
  };
}

/**
 * Horizontal bars, one per category (top to bottom in the given order). A category has one value in
 * one of the series (the others hold null there), so each bar has its series' color.
 */
export function barChart(opts: {
  xName: string;
  categories: string[];
  series: { name: string; color: string; values: (number | null)[] }[];
  guides?: GuideLine[];
}): ChartOption {
  const mark = guideMarkLine(opts.guides ?? []);
  return {
    animation: false,
    grid: { left: 16, right: 36, top: 40, bottom: 46, containLabel: true },
    tooltip: { trigger: "item", confine: true },
    legend: { top: 6, icon: "rect", itemWidth: 14, itemHeight: 8, data: opts.series.map((s) => s.name) },
    xAxis: { type: "value", name: opts.xName, ...AXIS_NAME, nameGap: 28 },
    yAxis: { type: "category", data: opts.categories, inverse: true, axisLabel: { fontSize: 11 } },
    series: opts.series.map((s, i) => ({
      type: "bar",
      name: s.name,
      stack: "one",
      data: s.values.map((v) => (v === null ? "-" : v)),
      color: s.color,
      itemStyle: { color: s.color },
      barMaxWidth: 18,
      emphasis: { disabled: true },
      ...(i === 0 && mark ? { markLine: mark } : {}),
    })),
  };
}
