import type { RequestTable } from "../requestTable.js";
import type { ChunkingPolicyDef } from "./chunkingPolicy.js";

/** FIRST_COME_FIRST_SERVED: whole remainders in order; the first that does not fit gets a unit-aligned part. */
export const firstComeFirstServed = {
  name: "first_come_first_served",
  trtllmName: "FIRST_COME_FIRST_SERVED",
  description: "earlier contexts get their whole remainder first; the first that does not fit gets a unit-aligned part",
  assign(t: RequestTable, toChunk: Int32Array, n: number, capacity: number, maxContextLength: number, unit: number): void {
    for (let i = 0; i < n; i++) {
      const r = toChunk[i]!;
      const remaining = t.promptLen[r]! - t.pos[r]!;
      let a = Math.min(remaining, capacity, maxContextLength);
      if (a !== remaining) a = Math.floor(a / unit) * unit;
      t.chunk[r] = a;
      capacity -= a;
    }
  },
} as const satisfies ChunkingPolicyDef;
