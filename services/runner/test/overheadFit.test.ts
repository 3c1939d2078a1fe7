import { describe, expect, it } from "vitest";
import { fitRequestOverhead, OVERHEAD_CANDIDATES_MS } from "../src/index.js";

const row = (model: string, siliconTtft: number, predictedTtft: number) => ({
  model,
  silicon_ttft_ms: siliconTtft,
  silicon_tpot_ms: 10,
  predicted_ttft_ms: predictedTtft,
  predicted_tpot_ms: 11,
});

describe("per-request overhead fit (disaggregated rows)", () => {
  it("candidates are 0–500 ms in 5 ms steps", () => {
    expect(OVERHEAD_CANDIDATES_MS.length).toBe(101);
    expect([OVERHEAD_CANDIDATES_MS[0], OVERHEAD_CANDIDATES_MS[1], OVERHEAD_CANDIDATES_MS[100]]).toEqual([0, 5, 500]);
  });

  it("picks the overhead with the lowest TTFT MAPE: in-sample, 5-fold by row, leave-one-model-out", () => {
    // Three rows 100 ms short, one 200 ms short: 100 ms fits best (the fourth row is then 25 % short).
    const rows = [row("a", 200, 100), row("a", 300, 200), row("b", 150, 50), row("b", 400, 200)];
    const f = fitRequestOverhead(rows);
    expect(f.rows).toBe(4);
    expect(f.in_sample.picks).toEqual([{ fold: "all rows", overhead_ms: 100, rows: 4 }]);
    expect(f.in_sample.ttft_mape).toBeCloseTo(6.25, 12);
    // TPOT does not move with the overhead.
    expect(f.in_sample.tpot_mape).toBeCloseTo(10, 12);
    // Without model b, model a's rows fit 100 ms; without model a, model b's rows (100 and 200 ms short,
    // relative to 150 and 400 ms) fit 100 ms as well.
    expect(f.leave_one_model_out.picks.map((p) => [p.fold, p.overhead_ms])).toEqual([
      ["a", 100],
      ["b", 100],
    ]);
    expect(f.leave_one_model_out.ttft_mape).toBeCloseTo(6.25, 12);
    expect(f.five_fold.picks.length).toBe(4);
  });
});
