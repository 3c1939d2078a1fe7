import { describe, expect, it } from "vitest";
import { type RankLoad, routeToRanks } from "../src/index.js";

const empty = (n: number): RankLoad[] => Array.from({ length: n }, () => ({ requests: 0, tokens: 0 }));

describe("attention-DP request routing (TensorRT-LLM's balance_requests_across_ranks)", () => {
  it("equal prompts on empty ranks go round-robin", () => {
    const loads = empty(4);
    expect([...routeToRanks([10, 10, 10, 10, 10, 10], loads)]).toEqual([0, 1, 2, 3, 0, 1]);
    expect(loads).toEqual([
      { requests: 2, tokens: 20 },
      { requests: 2, tokens: 20 },
      { requests: 1, tokens: 10 },
      { requests: 1, tokens: 10 },
    ]);
  });

  it("longest prompts first, each to the rank with the fewest active tokens", () => {
    const loads = empty(2);
    // Sorted: 100 (i1) → r0, 60 (i2) → r1, 50 (i0) → r1 (60 < 100), 10 (i3) → r0? r0 100 vs r1 110 → r0.
    expect([...routeToRanks([50, 100, 60, 10], loads)]).toEqual([1, 0, 1, 0]);
  });

  it("no rank goes beyond the expected share, even if it has the fewest tokens", () => {
    const loads: RankLoad[] = [
      { requests: 3, tokens: 3000 },
      { requests: 0, tokens: 0 },
    ];
    // expected = max(ceil((3 + 3) / 2), 3) = 3: rank 1 takes all three (rank 0 is full).
    expect([...routeToRanks([1, 1, 1], loads)]).toEqual([1, 1, 1]);
    // Rank 1 with fewer tokens but at expected; rank 0 takes the rest.
    const l2: RankLoad[] = [
      { requests: 1, tokens: 5000 },
      { requests: 2, tokens: 10 },
    ];
    expect([...routeToRanks([7, 7, 7], l2)]).toEqual([1, 0, 0]);
  });
});
