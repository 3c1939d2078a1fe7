/** Service-level objectives between their core form and wire form (servesim.v1 Slo). */
import { InvalidArgumentError, type Slo, type SloMetric } from "@servesim/core";
import { type Slo as WireSlo, SloMetric as WireSloMetric } from "../gen/ts/servesim/v1/scheduler.js";

const TO_WIRE: Record<SloMetric, WireSloMetric> = {
  ttft: WireSloMetric.SLO_METRIC_TTFT,
  tpot: WireSloMetric.SLO_METRIC_TPOT,
  itl: WireSloMetric.SLO_METRIC_ITL,
  e2el: WireSloMetric.SLO_METRIC_E2EL,
};
const FROM_WIRE = new Map<WireSloMetric, SloMetric>(Object.entries(TO_WIRE).map(([k, v]) => [v, k as SloMetric]));

export function sloToWire(s: Slo): WireSlo {
  const w: WireSlo = { metric: TO_WIRE[s.metric], thresholdMs: s.thresholdMs, mean: s.statistic === "mean" };
  if (typeof s.statistic === "number") w.percentile = s.statistic;
  return w;
}

/** A wire objective in core form; `field` names it in errors (an unknown metric, percentile and mean both set). */
export function sloFromWire(w: WireSlo, field: string): Slo {
  const metric = FROM_WIRE.get(w.metric);
  if (metric === undefined) throw new InvalidArgumentError(`${field}.metric`, `must be TTFT, TPOT, ITL or E2EL (got ${String(w.metric)})`);
  if (w.mean && w.percentile !== undefined) throw new InvalidArgumentError(field, "set percentile or mean, not both");
  const s: Slo = { metric, thresholdMs: w.thresholdMs };
  if (w.percentile !== undefined) s.statistic = w.percentile;
  else if (w.mean) s.statistic = "mean";
  return s;
}
