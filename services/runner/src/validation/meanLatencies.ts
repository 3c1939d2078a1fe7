import type { RequestRecord } from "@servesim/core";

/** Mean TTFT and TPOT (ms) of the requests that finished, from index `skip` on; `finished` counts them. */
export function meanLatencies(records: readonly RequestRecord[], skip = 0): { ttftMs: number; tpotMs: number; finished: number } {
  let ttft = 0;
  let tpot = 0;
  let finished = 0;
  for (let k = skip; k < records.length; k++) {
    const r = records[k]!;
    if (r.error) continue;
    ttft += r.ttftMs;
    tpot += r.tpotMs;
    finished++;
  }
  return { ttftMs: ttft / finished, tpotMs: tpot / finished, finished };
}
