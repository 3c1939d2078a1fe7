import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../src/errors.js";
import { checkSlos, describeSlo, formatSlo, parsePercentiles, parseSlo, parseSlos, percentileOfSorted } from "../src/slo.js";

const fails = (f: () => unknown, field: string, reason: RegExp): void => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).field).toBe(field);
    expect((e as InvalidArgumentError).reason).toMatch(reason);
    return;
  }
  throw new Error("did not throw");
};

describe("service-level objectives (vLLM's --goodput KEY:VALUE)", () => {
  it("reads vLLM's terms, aliases and statistics", () => {
    expect(parseSlos(["ttft:300", "tpot:25"])).toEqual([
      { metric: "ttft", thresholdMs: 300 },
      { metric: "tpot", thresholdMs: 25 },
    ]);
    expect(parseSlos(["e2el:8000 itl:50,request_latency@p99:9000"])).toEqual([
      { metric: "e2el", thresholdMs: 8000 },
      { metric: "itl", thresholdMs: 50 },
      { metric: "e2el", thresholdMs: 9000, statistic: 99 },
    ]);
    expect(parseSlo("TTFT@P99.9:250.5ms")).toEqual({ metric: "ttft", thresholdMs: 250.5, statistic: 99.9 });
    expect(parseSlo("tpot@mean:20")).toEqual({ metric: "tpot", thresholdMs: 20, statistic: "mean" });
    expect(parseSlo("inter_token_latency:1e2")).toEqual({ metric: "itl", thresholdMs: 100 });
  });

  it("round-trips through the text form and describes itself", () => {
    for (const t of ["ttft:300", "tpot@p90:25", "e2el@mean:8000", "itl@p99.9:40"]) expect(formatSlo(parseSlo(t))).toBe(t);
    expect(describeSlo(parseSlo("tpot@p90:25"))).toBe("tpot p90 <= 25 ms");
  });

  it("rejects bad terms naming the flag and the term", () => {
    fails(() => parseSlo("ttft", "--goodput"), "--goodput", /"ttft" is not METRIC:MILLISECONDS/);
    fails(() => parseSlo("ttfb:3"), "goodput", /unknown metric "ttfb" \(one of ttft, tpot, itl, e2el\)/);
    fails(() => parseSlo("ttft:0"), "goodput", /> 0/);
    fails(() => parseSlo("ttft:abc"), "goodput", /> 0/);
    fails(() => parseSlo("ttft:Infinity"), "goodput", /> 0/);
    fails(() => parseSlo("ttft@q9:3"), "goodput", /pNN/);
    fails(() => parseSlo("ttft@p0:3"), "goodput", /\(0, 100\]/);
    fails(() => parseSlos(["ttft:3", "ttft:4"]), "goodput[1]", /repeats an objective/);
    expect(parseSlos(["ttft:3", "ttft@p90:4"])).toHaveLength(2);
    fails(() => parseSlos(Array.from({ length: 9 }, (_, i) => `ttft@p${i + 1}:3`)), "goodput", /at most 8/);
    fails(() => checkSlos([{ metric: "ttft", thresholdMs: Number.NaN }], "spec.report.goodput"), "spec.report.goodput[0].threshold_ms", /> 0/);
  });
});

describe("percentiles", () => {
  it("parses, sorts and dedupes", () => {
    expect(parsePercentiles("99.9,50, 90,p99,50")).toEqual([50, 90, 99, 99.9]);
    expect(parsePercentiles(["50", "100"])).toEqual([50, 100]);
    fails(() => parsePercentiles("50,abc", "--percentiles"), "--percentiles", /"abc" is not a number/);
    fails(() => parsePercentiles("0"), "percentiles", /\(0, 100\]/);
    fails(() => parsePercentiles("101"), "percentiles", /\(0, 100\]/);
    fails(() => parsePercentiles(Array.from({ length: 17 }, (_, i) => String(i + 1))), "percentiles", /at most 16/);
  });

  it("nearest rank like trtllm-bench: sorted[floor(n·p/100)], the maximum at 100", () => {
    const v = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentileOfSorted(v, 50)).toBe(501);
    expect(percentileOfSorted(v, 99.9)).toBe(1000);
    expect(percentileOfSorted(v, 99)).toBe(991);
    expect(percentileOfSorted(v, 100)).toBe(1000);
    expect(percentileOfSorted([], 50)).toBe(0);
    // The same doubles as trtllm-bench's literals, so the same ranks for every n.
    for (let n = 1; n < 2000; n++)
      for (const p of [50, 90, 95, 99]) expect(Math.floor(n * (p / 100))).toBe(Math.floor(n * [0.5, 0.9, 0.95, 0.99][[50, 90, 95, 99].indexOf(p)]!));
  });
});
