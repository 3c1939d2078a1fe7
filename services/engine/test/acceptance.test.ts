import { describe, expect, it } from "vitest";
import { AcceptanceSampler, acceptanceRates, meanAcceptedOf, ratesFromMean } from "../src/index.js";

describe("speculative acceptance model", () => {
  it("mean accepted drafts of per-position rates", () => {
    expect(meanAcceptedOf([1, 1, 1])).toBe(3);
    expect(meanAcceptedOf([0.5, 0.5])).toBe(0.75);
    expect(meanAcceptedOf([0.8, 0.5, 0])).toBeCloseTo(0.8 + 0.4, 12);
  });

  it("a mean becomes one geometric rate per position that reaches it", () => {
    const r = ratesFromMean(3, 1.5);
    expect(r).toHaveLength(3);
    expect(new Set(r).size).toBe(1);
    expect(meanAcceptedOf(r)).toBeCloseTo(1.5, 9);
    expect(ratesFromMean(2, 0)).toEqual([0, 0]);
    expect(ratesFromMean(2, 2)).toEqual([1, 1]);
  });

  it("validates the spec with field names", () => {
    expect(() => acceptanceRates({ maxDraftLen: 0, meanAccepted: 0, seed: 0 }, "s")).toThrow(/s\.max_draft_len/);
    expect(() => acceptanceRates({ maxDraftLen: 2, seed: 0 }, "s")).toThrow(/s\.mean_accepted_draft_tokens.*acceptance model/);
    expect(() => acceptanceRates({ maxDraftLen: 2, meanAccepted: 2.5, seed: 0 }, "s")).toThrow(/must be in \[0, max_draft_len = 2\]/);
    expect(() => acceptanceRates({ maxDraftLen: 2, rates: [0.5], seed: 0 }, "s")).toThrow(/one rate per draft position \(2; got 1\)/);
    expect(() => acceptanceRates({ maxDraftLen: 2, rates: [0.5, 1.5], seed: 0 }, "s")).toThrow(/s\.acceptance_rates\[1\]/);
    expect(() => acceptanceRates({ maxDraftLen: 1, rates: [0.5], meanAccepted: 0.5, seed: 0 }, "s")).toThrow(/not both/);
  });

  it("draws are deterministic per (seed, request, step), bounded, and average to the mean", () => {
    const a = new AcceptanceSampler({ maxDraftLen: 3, rates: [0.9, 0.7, 0.5], seed: 7 });
    const b = new AcceptanceSampler({ maxDraftLen: 3, rates: [0.9, 0.7, 0.5], seed: 7 });
    const c = new AcceptanceSampler({ maxDraftLen: 3, rates: [0.9, 0.7, 0.5], seed: 8 });
    let sum = 0;
    let differs = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const x = a.accepted(i % 1000, Math.floor(i / 1000));
      expect(x).toBe(b.accepted(i % 1000, Math.floor(i / 1000)));
      if (x !== c.accepted(i % 1000, Math.floor(i / 1000))) differs++;
      sum += x;
    }
    expect(a.meanAccepted).toBeCloseTo(0.9 + 0.63 + 0.315, 12);
    expect(Math.abs(sum / n - a.meanAccepted)).toBeLessThan(0.01);
    expect(differs).toBeGreaterThan(n / 4);
    const all = new AcceptanceSampler({ maxDraftLen: 2, rates: [1, 1], seed: 1 });
    const none = new AcceptanceSampler({ maxDraftLen: 2, rates: [0, 1], seed: 1 });
    for (let i = 0; i < 100; i++) {
      expect(all.accepted(i, i)).toBe(2);
      expect(none.accepted(i, i)).toBe(0);
    }
  });
});
