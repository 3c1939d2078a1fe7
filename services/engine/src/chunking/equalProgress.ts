import type { RequestTable } from "../requestTable.js";
import type { ChunkingPolicyDef } from "./chunkingPolicy.js";

/** EQUAL_PROGRESS: one unit per request per round until the budget is used up. */
export const equalProgress = {
  name: "equal_progress",
  trtllmName: "EQUAL_PROGRESS",
  description: "every context advances by one chunk unit per round until the token budget is used up",
  assign(t: RequestTable, toChunk: Int32Array, n: number, capacity: number, maxContextLength: number, unit: number): void {
    for (let i = 0; i < n; i++) t.chunk[toChunk[i]!] = 0;
    let total = 0;
    let added = 1;
    while (total < capacity && added > 0) {
      added = 0;
      for (let i = 0; i < n; i++) {
        const r = toChunk[i]!;
        const old = t.chunk[r]!;
        const c = Math.min(old + unit, t.promptLen[r]! - t.pos[r]!);
        const inc = c - old;
        if (total + inc > capacity || c > maxContextLength) continue;
        t.chunk[r] = c;
        total += inc;
        added += inc;
      }
    }
  },
} as const satisfies ChunkingPolicyDef;
