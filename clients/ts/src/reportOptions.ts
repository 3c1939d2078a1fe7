import { checkSlos, parsePercentiles, parseSlos, type Slo } from "@servesim/core";
import { sloToWire } from "@servesim/wire";
import type { ReportOptions } from "@servesim/wire/scheduler";

/**
 * JobSpec.report from their CLI spellings: goodput objectives as vLLM's `KEY:VALUE` terms in ms
 * ("ttft:300 tpot:25", or a list of terms; `KEY@p90:VALUE` also bounds the run's p90) or as Slo
 * objects, and the latency percentiles to report ("50,90,99,99.9" or numbers). Invalid input throws
 * InvalidArgumentError naming `goodput` or `percentiles`.
 */
export function reportOptions(opts: { goodput?: string | readonly (string | Slo)[]; percentiles?: string | readonly number[] }): ReportOptions {
  const g = opts.goodput ?? [];
  const terms = typeof g === "string" ? [g] : g;
  const slos = checkSlos([...parseSlos(terms.filter((t): t is string => typeof t === "string")), ...terms.filter((t): t is Slo => typeof t !== "string")]);
  const p = opts.percentiles;
  const percentiles = p === undefined ? [] : parsePercentiles(typeof p === "string" ? p : p.map(String));
  return { percentiles, goodput: slos.map(sloToWire) };
}
