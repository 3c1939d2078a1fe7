/** A sweep's or a search's results for people: the HTML page's input, the Pareto PNG, a text table. */
import { describeSlo, type Slo } from "@servesim/core";
import { type Cell, paretoChartOption, renderChartPng, type SweepHtmlInput, type SweepHtmlPoint, type TableColumn } from "@servesim/html";
import { DIMENSIONS } from "./dimensions.js";
import { metricColumns, type SweepRow } from "./row.js";

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The columns shown for each point: its label, the settings that vary, the headline metrics. */
export function displayColumns(varied: readonly string[], percentiles: readonly number[], withGoodput: boolean): TableColumn[] {
  const wanted = new Set([
    "gpus",
    "output_tok_s_per_gpu",
    "output_tok_s_per_user",
    "request_throughput_req_s",
    ...percentiles.filter((p) => p === 90 || p === 99 || p === percentiles.at(-1)).flatMap((p) => [`ttft_p${p}_ms`, `tpot_p${p}_ms`]),
    "ttft_avg_ms",
    "tpot_avg_ms",
    "e2el_avg_ms",
    ...(withGoodput ? ["request_goodput_per_gpu", "good_fraction", "slo_met"] : []),
  ]);
  return [
    { key: "label", label: "configuration" },
    ...varied.map((k) => ({ key: k, label: k })),
    { key: "status", label: "status" },
    ...metricColumns(percentiles, withGoodput).filter((c) => wanted.has(c.key)),
  ];
}

export interface PresentOptions {
  kind: "sweep" | "search";
  title: string;
  subtitle: string;
  varied: readonly string[];
  percentiles: readonly number[];
  slos: readonly Slo[];
  winnerId?: string;
  summary?: { label: string; value: string }[];
}

/** The HTML page's input from the rows. */
export function sweepHtmlInput(rows: readonly SweepRow[], o: PresentOptions): SweepHtmlInput {
  const withGoodput = o.slos.length > 0;
  const points = rows.map(
    (r): SweepHtmlPoint => ({
      id: r.id,
      label: r.label,
      perUser: r.status === "ok" ? num(r.metrics["output_tok_s_per_user"]) : null,
      perGpu: r.status === "ok" ? num(r.metrics["output_tok_s_per_gpu"]) : null,
      goodputPerGpu: r.status === "ok" && withGoodput ? num(r.metrics["request_goodput_per_gpu"]) : null,
      meetsSlo: r.status === "ok" && withGoodput ? r.metrics["slo_met"] === true : null,
      row: {
        label: r.label,
        status: r.status === "ok" ? "ok" : `failed: ${r.error ?? ""}`,
        ...(r.settings as Record<string, Cell>),
        ...(r.metrics as Record<string, Cell>),
      },
    }),
  );
  return {
    kind: o.kind,
    title: o.title,
    subtitle: o.subtitle,
    ...(o.summary ? { summary: o.summary } : {}),
    points,
    columns: displayColumns(o.varied, o.percentiles, withGoodput),
    slos: o.slos,
    ...(o.winnerId !== undefined ? { winnerId: o.winnerId } : {}),
  };
}

/** The Pareto chart as PNG (no browser needed). */
export async function paretoPng(input: SweepHtmlInput): Promise<{ png: Buffer; warnings: string[] }> {
  const objectives = input.slos.length > 0 ? `objectives: ${input.slos.map(describeSlo).join(", ")}` : input.subtitle;
  return renderChartPng(paretoChartOption(input), { title: input.title, subtitle: objectives });
}

/** A fixed-width text table of rows (the CLI's summary of the best points). */
export function textTable(rows: readonly SweepRow[], columns: readonly { key: string; label: string; digits?: number }[]): string {
  const cell = (r: SweepRow, c: { key: string; digits?: number }): string => {
    const v = c.key === "label" ? r.label : c.key === "status" ? r.status : (r.settings[c.key] ?? r.metrics[c.key]);
    if (v === null || v === undefined) return "-";
    if (typeof v === "number") return c.digits !== undefined ? v.toFixed(c.digits) : String(v);
    return String(v);
  };
  const cells = rows.map((r) => columns.map((c) => cell(r, c)));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  return [line(columns.map((c) => c.label)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Dimensions in registry order, for callers that list settings. */
export const dimensionNames = (): string[] => DIMENSIONS.map((d) => d.name);
