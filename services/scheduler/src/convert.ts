import type { RequestRecord as EngineRequestRecord, SimulationProgress } from "@servesim/engine";
import type { JobProgress } from "@servesim/wire/scheduler";

export function toJobProgress(p: SimulationProgress & { pointsFinished?: number; pointsTotal?: number }): JobProgress {
  return {
    iterations: p.iterations,
    requestsFinished: p.requestsFinished,
    requestsTotal: p.requestsTotal,
    simTimeMs: p.simTimeMs,
    pointsFinished: p.pointsFinished ?? 0,
    pointsTotal: p.pointsTotal ?? 0,
  };
}

/** Upper bound of a sweep row's encoded size. */
export function sweepRowBytes(r: { metrics: Record<string, number>; settings: Record<string, string>; error: string; label: string }): number {
  let n = 64 + r.label.length + r.error.length * 3;
  for (const k in r.metrics) n += k.length + 12;
  for (const k in r.settings) n += k.length + r.settings[k]!.length + 8;
  return n;
}

/** Upper bound of a request record's encoded size: ~80 bytes of scalars plus 8 per token time. */
export function requestRecordBytes(r: EngineRequestRecord): number {
  return 96 + 8 * r.tokenTimesMs.length + (r.error?.length ?? 0) * 3;
}

/** Upper bound of an iteration record's encoded size. */
export const ITERATION_RECORD_BYTES = 192;
