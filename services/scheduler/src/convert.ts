import type { RequestRecord as EngineRequestRecord, SimulationProgress } from "@servesim/engine";
import type { JobProgress } from "@servesim/wire/scheduler";

export function toJobProgress(p: SimulationProgress): JobProgress {
  return { iterations: p.iterations, requestsFinished: p.requestsFinished, requestsTotal: p.requestsTotal, simTimeMs: p.simTimeMs };
}

/** Upper bound of a request record's encoded size: ~80 bytes of scalars plus 8 per token time. */
export function requestRecordBytes(r: EngineRequestRecord): number {
  return 96 + 8 * r.tokenTimesMs.length + (r.error?.length ?? 0) * 3;
}

/** Upper bound of an iteration record's encoded size. */
export const ITERATION_RECORD_BYTES = 160;
