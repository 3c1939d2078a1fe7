import type { RequestRecord } from "@servesim/core";

export interface RequestJsonOptions {
  /** Include `token_times_ms` (one number per output token). Default true. */
  includeTokenTimes?: boolean;
}

/** The `--request-json` object of one request (times in ms, as simulated). */
export function requestJsonObject(r: RequestRecord, options: RequestJsonOptions = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {
    task_id: r.taskId,
    input_length: r.inputLength,
    output_length: r.outputLength,
    start_ms: r.startMs,
    first_token_ms: r.firstTokenMs,
    end_ms: r.endMs,
    ttft_ms: r.ttftMs,
    tpot_ms: r.tpotMs,
    e2e_ms: r.e2eMs,
    paused_count: r.pausedCount,
    reused_tokens: r.reusedTokens,
  };
  if (options.includeTokenTimes ?? true) o["token_times_ms"] = Array.from(r.tokenTimesMs);
  if (r.error !== undefined) o["error"] = r.error;
  return o;
}

/** One JSON line (no trailing newline) per request. */
export function requestJsonLine(r: RequestRecord, options: RequestJsonOptions = {}): string {
  return JSON.stringify(requestJsonObject(r, options));
}
