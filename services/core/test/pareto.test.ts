import { describe, expect, it } from "vitest";
import { paretoFrontier } from "../src/pareto.js";

describe("paretoFrontier (maximise x and y)", () => {
  it("keeps the non-dominated points sorted by x, duplicates of a frontier point included", () => {
    const pts: [number, number][] = [
      [1, 10], // 0 frontier
      [2, 9], // 1 frontier
      [2, 5], // 2 dominated by 1
      [3, 3], // 3 frontier
      [1, 8], // 4 dominated by 0
      [3, 3], // 5 equal to 3: kept
      [0.5, 10], // 6 dominated by 0 (same y, smaller x)
      [Number.NaN, 99], // 7 never
    ];
    expect(paretoFrontier(pts)).toEqual([0, 1, 3, 5]);
    expect(paretoFrontier([])).toEqual([]);
  });
});
