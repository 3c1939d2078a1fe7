import type { SimRequest } from "@servesim/engine";
import { PythonRandom } from "@servesim/workload";

/** trtllm-bench's default number of warm-up requests (`--warmup`). */
export const DEFAULT_WARMUP = 2;

/**
 * Warm-up requests as trtllm-bench picks them: `random.choices(requests, k=count)` (with repeats), here
 * from Python's generator seeded with the job seed so a job replays exactly.
 */
export function pickWarmup(requests: readonly SimRequest[], count: number, seed: number): SimRequest[] {
  if (count === 0 || requests.length === 0) return [];
  const picks = new PythonRandom(seed).choicesRange(requests.length, count);
  return Array.from(picks, (i) => requests[i]!);
}
