/** Sweep points and rows between their sweep form and wire form (servesim.v1 SweepPoint, SweepRow). */
import { InvalidArgumentError } from "@servesim/core";
import type { SweepPoint as WirePoint, SweepRow as WireRow } from "@servesim/wire/scheduler";
import { dimension, pointLabel, type SettingValue } from "./dimensions.js";
import type { MetricValue, SweepRow } from "./row.js";
import type { SweepPoint } from "./space.js";

export function pointToWire(p: SweepPoint): WirePoint {
  return { id: p.id, label: p.label, settings: Object.fromEntries(Object.entries(p.settings).map(([k, v]) => [k, String(v)])) };
}

/** A setting's text ("2", "true", "h100_sxm") as the value a sweep file would hold. */
function settingFromText(text: string): unknown {
  const t = text.trim();
  if (t === "true" || t === "false") return t === "true";
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return t;
}

/** A wire point, validated: known settings with valid values; `field` names it in errors. */
export function pointFromWire(w: WirePoint, index: number, field: string): SweepPoint {
  const id = w.id ?? "";
  if (id.length === 0 || id.length > 128 || !/^[\x21-\x7e]+$/.test(id))
    throw new InvalidArgumentError(`${field}.id`, "must be 1 to 128 printable ASCII characters");
  const settings: Record<string, SettingValue> = {};
  for (const [key, text] of Object.entries(w.settings ?? {})) {
    const d = dimension(key);
    if (!d) throw new InvalidArgumentError(`${field}.settings`, `unknown setting ${JSON.stringify(key.slice(0, 64))}`);
    if (text.length > 512) throw new InvalidArgumentError(`${field}.settings[${d.name}]`, "longer than 512 characters");
    const v = d.parse(settingFromText(text));
    if (typeof v === "object") throw new InvalidArgumentError(`${field}.settings[${d.name}]`, v.invalid);
    settings[d.name] = v;
  }
  const label = (w.label ?? "").slice(0, 256) || pointLabel(settings);
  return { id, index, label, settings };
}

export function rowToWire(r: SweepRow): WireRow {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.metrics)) if (v !== null) metrics[k] = typeof v === "boolean" ? (v ? 1 : 0) : v;
  return {
    id: r.id,
    index: r.index,
    label: r.label,
    settings: Object.fromEntries(Object.entries(r.settings).map(([k, v]) => [k, String(v)])),
    ok: r.status === "ok",
    error: r.error ?? "",
    metrics,
  };
}

/** Metrics that are flags on the sweep side (0/1 on the wire). */
const BOOLEAN_METRICS = new Set(["slo_met"]);

/** A wire row back in sweep form; `metricKeys` (the sweep's columns) come back as null when absent. */
export function rowFromWire(w: WireRow, metricKeys: readonly string[]): SweepRow {
  const settings: Record<string, SettingValue> = {};
  for (const [k, text] of Object.entries(w.settings ?? {})) settings[k] = settingFromText(text) as SettingValue;
  const metrics: Record<string, MetricValue> = {};
  if (w.ok) for (const k of metricKeys) metrics[k] = w.metrics[k] === undefined ? null : BOOLEAN_METRICS.has(k) ? w.metrics[k] === 1 : w.metrics[k]!;
  return { id: w.id, index: w.index, label: w.label, settings, status: w.ok ? "ok" : "failed", ...(w.ok ? {} : { error: w.error }), metrics };
}
