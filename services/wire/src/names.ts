/**
 * The names users write for the scheduler's enums (trtllm-bench / LLM API spellings), shared by the CLI
 * and sweep files. Predictor names live in perf's predictor registry.
 */
import { ChunkingPolicy, SchedulerPolicy } from "../gen/ts/servesim/v1/scheduler.js";

/** A name table without a prototype, so that user input such as "constructor" finds nothing. */
const table = <T>(entries: Record<string, T>): Readonly<Record<string, T>> => Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));

export const SCHEDULER_POLICY_BY_NAME: Readonly<Record<string, SchedulerPolicy>> = table({
  guaranteed_no_evict: SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT,
  max_utilization: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION,
  static_batch: SchedulerPolicy.SCHEDULER_POLICY_STATIC_BATCH,
});

export const CHUNKING_POLICY_BY_NAME: Readonly<Record<string, ChunkingPolicy>> = table({
  first_come_first_served: ChunkingPolicy.CHUNKING_POLICY_FIRST_COME_FIRST_SERVED,
  equal_progress: ChunkingPolicy.CHUNKING_POLICY_EQUAL_PROGRESS,
});

/** The name of an enum value in one of the tables above (the first spelling). */
export function nameOf<T>(table: Readonly<Record<string, T>>, value: T): string | undefined {
  return Object.keys(table).find((k) => table[k] === value);
}
