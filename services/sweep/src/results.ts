import { DIMENSIONS } from "./dimensions.js";
import type { SweepRow } from "./row.js";

/** RFC 4180 field: quoted when it holds a comma, a quote or a line break. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The setting columns of a set of rows (every dimension some row sets, in table order). */
export function settingColumns(rows: readonly SweepRow[]): string[] {
  return DIMENSIONS.map((d) => d.name).filter((n) => rows.some((r) => r.settings[n] !== undefined));
}

/** The CSV of a sweep: id, index, label, the settings, status, error, then `metricKeys`. */
export function sweepCsv(rows: readonly SweepRow[], metricKeys: readonly string[]): string {
  const settings = settingColumns(rows);
  const header = ["id", "index", "label", ...settings, "status", "error", ...metricKeys];
  const lines = [header.map(csvField).join(",")];
  for (const r of rows)
    lines.push(
      [r.id, r.index, r.label, ...settings.map((s) => r.settings[s]), r.status, r.error ?? "", ...metricKeys.map((k) => r.metrics[k])].map(csvField).join(","),
    );
  return `${lines.join("\n")}\n`;
}

/** One JSONL line (no newline): {id, index, label, settings..., status, error?, metrics...} flattened. */
export function sweepJsonLine(r: SweepRow): string {
  return JSON.stringify({
    id: r.id,
    index: r.index,
    label: r.label,
    settings: r.settings,
    status: r.status,
    ...(r.error !== undefined ? { error: r.error } : {}),
    metrics: r.metrics,
  });
}

/** Rows read back from a sweep's JSONL (a re-run keeps the finished ones); unreadable lines are skipped. */
export function parseSweepJsonl(text: string): SweepRow[] {
  const rows: SweepRow[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const o = JSON.parse(line) as SweepRow;
      if (typeof o.id === "string" && (o.status === "ok" || o.status === "failed") && typeof o.metrics === "object") rows.push(o);
    } catch {
      // A line cut short by an interrupted run: that point runs again.
    }
  }
  return rows;
}
