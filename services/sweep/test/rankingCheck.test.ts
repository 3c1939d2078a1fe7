import { describe, expect, it } from "vitest";
import { type RankedRow, rankingCheck, tokensPerGpu } from "../src/rankingCheck.js";

/** A setup of 12 rows: TP 1, 2, 4 × concurrency 8..64; TPOT grows with concurrency, falls with TP. */
function setup(predictedTpotScale: (r: { tp: number; c: number }) => number): RankedRow[] {
  const rows: RankedRow[] = [];
  for (const tp of [1, 2, 4])
    for (const c of [8, 16, 32, 64]) {
      const tpot = (4 + c / 8) / Math.sqrt(tp);
      const ttft = 50 + c * 3;
      rows.push({
        id: `tp${tp}c${c}`,
        predictor: "roofline",
        model: "M",
        system: "S",
        precision: "fp8",
        tp,
        isl: 1000,
        osl: 100,
        concurrency: c,
        silicon_ttft_ms: ttft,
        silicon_tpot_ms: tpot,
        predicted_ttft_ms: ttft,
        predicted_tpot_ms: tpot * predictedTpotScale({ tp, c }),
      });
    }
  return rows;
}

describe("does the search pick right (ranking check)", () => {
  it("exact predictions pick the best measured row under every objective", () => {
    const s = rankingCheck(setup(() => 1));
    expect(s.setups).toBe(1);
    expect(s.cases).toHaveLength(4);
    expect(s.cases.every((c) => c.pass && c.ratio === 1 && c.picked === c.best)).toBe(true);
  });

  it("a pick that misses the objective as measured fails; setups under 10 rows are skipped", () => {
    // Predicting TPOT 30 % too low makes the search pick rows that are too slow in reality.
    const s = rankingCheck(setup(() => 0.7));
    expect(s.cases.some((c) => !c.pickMeetsObjective && !c.pass)).toBe(true);
    expect(rankingCheck(setup(() => 1).slice(0, 9)).cases).toEqual([]);
  });

  it("throughput per GPU from mean TTFT and TPOT", () => {
    // 64 users × 100 tokens every (200 + 99 × 10) ms on 2 GPUs.
    expect(tokensPerGpu(64, 100, 200, 10, 2)).toBeCloseTo((64 * 100) / 1.19 / 2, 9);
  });
});
