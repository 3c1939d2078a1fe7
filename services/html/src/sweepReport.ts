import { describeSlo, paretoFrontier, type Slo } from "@servesim/core";
import { barChart, COLORS, type GuideLine, type ScatterSeries, scatterChart } from "./charts.js";
import { type Block, type Cell, type ChartOption, type PageSpec, renderPage, type TableColumn } from "./page.js";
import type { Point } from "./series.js";

/** One configuration of a sweep or search, as the page shows it. */
export interface SweepHtmlPoint {
  /** Unique, e.g. the point's index "0007". */
  id: string;
  /** A short description, e.g. "h100_sxm tp2 mbs256 c64": the tooltip and bar label. */
  label: string;
  /** Output tokens/s per user (x of the Pareto chart); null when the point failed. */
  perUser: number | null;
  /** Output tokens/s per GPU (y of the Pareto chart); null when the point failed. */
  perGpu: number | null;
  /** Good requests/s per GPU; null without objectives or when the point failed. */
  goodputPerGpu: number | null;
  /** Every run-level objective met; null without objectives. */
  meetsSlo: boolean | null;
  /** The table row (config and metrics), keyed by the columns. */
  row: Record<string, Cell>;
}

export interface SweepHtmlInput {
  kind: "sweep" | "search";
  title: string;
  subtitle: string;
  summary?: { label: string; value: string }[];
  points: SweepHtmlPoint[];
  columns: TableColumn[];
  slos: readonly Slo[];
  /** The chosen configuration (a search's best), highlighted everywhere. */
  winnerId?: string;
  /** Bars drawn in the goodput chart (the best ones), default 40. */
  maxBars?: number;
}

/** Objectives that bound time per token become lines of constant tokens/s/user: 1000 / threshold. */
function speedGuides(slos: readonly Slo[]): GuideLine[] {
  return slos
    .filter((s) => s.metric === "tpot" || s.metric === "itl")
    .map((s) => ({ axis: "x" as const, value: 1000 / s.thresholdMs, label: `${describeSlo(s)} (${(1000 / s.thresholdMs).toFixed(1)} tok/s/user)` }));
}

/** Indices of the points on the Pareto frontier of tokens/s/GPU against tokens/s/user (among those meeting the objectives, when any). */
export function sweepFrontier(points: readonly SweepHtmlPoint[]): number[] {
  const eligible = points.map((p, i) => ({ p, i })).filter(({ p }) => p.perUser !== null && p.perGpu !== null && p.meetsSlo !== false);
  return paretoFrontier(eligible.map(({ p }) => [p.perUser!, p.perGpu!] as const)).map((k) => eligible[k]!.i);
}

/** The Pareto chart: every configuration, the frontier joined, the chosen one ringed, objective lines. */
export function paretoChartOption(input: Pick<SweepHtmlInput, "points" | "slos" | "winnerId">): ChartOption {
  const frontier = new Set(sweepFrontier(input.points));
  const pt = (p: SweepHtmlPoint): { name: string; value: Point } => ({ name: p.label, value: [p.perUser!, p.perGpu!] });
  const drawn = input.points.filter((p) => p.perUser !== null && p.perGpu !== null);
  const objectives = input.slos.length > 0;
  const series: ScatterSeries[] = [
    { name: objectives ? "meets the objectives" : "configuration", color: COLORS.blue, points: drawn.filter((p) => p.meetsSlo !== false).map(pt) },
  ];
  if (objectives) series.push({ name: "misses an objective", color: COLORS.grey, points: drawn.filter((p) => p.meetsSlo === false).map(pt), symbolSize: 6 });
  series.push({
    name: "Pareto frontier",
    color: COLORS.orange,
    points: input.points.filter((_, i) => frontier.has(i)).map(pt),
    line: true,
    symbolSize: 6,
  });
  const winner = input.points.find((p) => p.id === input.winnerId && p.perUser !== null && p.perGpu !== null);
  if (winner) series.push({ name: `chosen: ${winner.label}`, color: COLORS.red, points: [pt(winner)], symbolSize: 14 });
  return scatterChart({ xName: "output tokens/s per user", yName: "output tokens/s per GPU", series, guides: speedGuides(input.slos), xMin: 0, yMin: 0 });
}

/** Goodput per GPU of the best configurations, as bars (meeting / missing the objectives). */
function goodputChart(points: readonly SweepHtmlPoint[], maxBars: number): { option: ChartOption; shown: number } {
  const ranked = points.filter((p) => p.goodputPerGpu !== null).sort((a, b) => b.goodputPerGpu! - a.goodputPerGpu!);
  const top = ranked.slice(0, maxBars);
  return {
    shown: top.length,
    option: barChart({
      xName: "good requests/s per GPU",
      categories: top.map((p) => p.label),
      series: [
        { name: "meets the objectives", color: COLORS.green, values: top.map((p) => (p.meetsSlo !== false ? p.goodputPerGpu : null)) },
        { name: "misses an objective", color: COLORS.grey, values: top.map((p) => (p.meetsSlo === false ? p.goodputPerGpu : null)) },
      ],
    }),
  };
}

export function sweepPageSpec(input: SweepHtmlInput): PageSpec {
  const maxBars = input.maxBars ?? 40;
  const frontier = new Set(sweepFrontier(input.points));
  const ok = input.points.filter((p) => p.perGpu !== null).length;
  const blocks: Block[] = [
    {
      kind: "chart",
      id: "pareto",
      title: "Throughput per GPU against speed per user",
      note: `${ok} of ${input.points.length} configurations${input.slos.length > 0 ? `; objectives: ${input.slos.map(describeSlo).join(", ")}` : ""}; the frontier joins the configurations no other beats on both axes${input.slos.some((s) => s.metric === "tpot" || s.metric === "itl") ? "; dashed: a time-per-token objective as the speed it implies" : ""}`,
      option: paretoChartOption(input),
      height: 460,
    },
  ];
  if (input.slos.length > 0) {
    const g = goodputChart(input.points, maxBars);
    blocks.push({
      kind: "chart",
      id: "goodput",
      title: "Goodput per configuration",
      note: `requests meeting every objective per second per GPU; the best ${g.shown} of ${input.points.length} configurations`,
      option: g.option,
      height: Math.max(220, 70 + 20 * g.shown),
    });
  }
  const rows = input.points.map((p, i) => ({ ...p.row, pareto: frontier.has(i) }));
  const highlight = input.winnerId === undefined ? [] : input.points.flatMap((p, i) => (p.id === input.winnerId ? [i] : []));
  const goodputKey = input.columns.find((c) => c.key === "request_goodput_per_gpu")?.key;
  blocks.push({
    kind: "table",
    id: "points",
    title: input.kind === "search" ? "Every configuration searched" : "Every point of the sweep",
    note: "click a column to sort; the highlighted row is the chosen configuration",
    columns: [...input.columns, { key: "pareto", label: "on frontier" }],
    rows,
    highlight,
    sortBy: goodputKey ? { key: goodputKey, descending: true } : { key: "output_tok_s_per_gpu", descending: true },
  });
  return {
    title: input.title,
    subtitle: input.subtitle,
    summary: input.summary ?? [
      { label: "Configurations", value: `${input.points.length}` },
      { label: "Succeeded", value: `${ok}` },
      { label: "On the frontier", value: `${frontier.size}` },
    ],
    sections: [{ title: input.kind === "search" ? "Search" : "Sweep", blocks }],
  };
}

/** The self-contained HTML report of a sweep or a search. */
export function renderSweepHtml(input: SweepHtmlInput): string {
  return renderPage(sweepPageSpec(input));
}
