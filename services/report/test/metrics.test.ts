import { percentileStats } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { computeMetrics, requestMetrics } from "../src/metrics.js";
import { example112, failedRecord } from "./fixtures.js";

describe("percentileStats (nearest rank s[floor(n·p)])", () => {
  it("n = 10: p50 is index 5, p90/p95/p99 index 9", () => {
    const v = [9, 3, 7, 1, 5, 0, 8, 2, 6, 4];
    expect(percentileStats(v)).toEqual({ p50: 5, p90: 9, p95: 9, p99: 9, minimum: 0, maximum: 9, average: 4.5 });
  });

  it("TTFT [10, 10, 25]", () => {
    expect(percentileStats([10, 10, 25])).toEqual({ p50: 10, p90: 25, p95: 25, p99: 25, minimum: 10, maximum: 25, average: 15 });
  });

  it("n = 100 and n = 1", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100
    expect(percentileStats(v)).toMatchObject({ p50: 51, p90: 91, p95: 96, p99: 100 });
    expect(percentileStats([4])).toEqual({ p50: 4, p90: 4, p95: 4, p99: 4, minimum: 4, maximum: 4, average: 4 });
  });

  it("empty input gives zeros", () => {
    expect(percentileStats([])).toEqual({ p50: 0, p90: 0, p95: 0, p99: 0, minimum: 0, maximum: 0, average: 0 });
  });
});

describe("per-request metrics", () => {
  it("R0 of worked example E2 (docs/engine.md)", () => {
    expect(requestMetrics(example112[0]!)).toEqual({
      taskId: 0,
      inputLength: 100,
      outputLength: 3,
      numGeneratedTokens: 2,
      startMs: 0,
      firstTokenMs: 10,
      endMs: 25,
      ttftMs: 10,
      e2eMs: 25,
      generationTimeMs: 15,
      tpotMs: 7.5,
      generationTokenThroughputTokS: 2 / 0.015,
      outputTokenThroughputTokS: 3 / 0.025,
    });
  });

  it("one output token: TPOT 0 and GTPS 0 (0/0)", () => {
    const m = requestMetrics({ ...example112[1]!, outputLength: 1, tokenTimesMs: Float64Array.of(10), endMs: 10, e2eMs: 10 });
    expect([m.tpotMs, m.generationTokenThroughputTokS, m.generationTimeMs]).toEqual([0, 0, 0]);
  });
});

describe("run aggregates: worked example E2 (docs/engine.md)", () => {
  const m = computeMetrics(example112, { worldSize: 2 });

  it("latency, throughput, concurrency", () => {
    expect(m.numRequests).toBe(3);
    expect(m.totalLatencyMs).toBe(30);
    expect(m.requestThroughputReqS).toBeCloseTo(100, 9);
    expect(m.systemOutputThroughputTokS).toBeCloseTo(233.3333333, 6);
    expect(m.systemTotalThroughputTokS).toBeCloseTo(357 / 0.03, 6);
    expect(m.outputThroughputPerGpuTokS).toBeCloseTo(116.6666667, 6);
    expect(m.avgConcurrentRequests).toBeCloseTo(2.3333333, 6);
    expect(m.avgRequestLatencyMs).toBeCloseTo(70 / 3, 12);
    expect(m.avgInputLength).toBeCloseTo(350 / 3, 12);
    expect(m.avgOutputLength).toBeCloseTo(7 / 3, 12);
    expect([m.totalInputTokens, m.totalOutputTokens]).toEqual([350, 7]);
  });

  it("TTFT p50 10, p90 25, avg 15; TPOT; e2e", () => {
    expect(m.ttftMs).toEqual({ p50: 10, p90: 25, p95: 25, p99: 25, minimum: 10, maximum: 25, average: 15 });
    expect(m.avgTtftMs).toBe(15);
    expect(m.tpotMs).toEqual({ p50: 5, p90: 7.5, p95: 7.5, p99: 7.5, minimum: 5, maximum: 7.5, average: 17.5 / 3 });
    expect(m.avgTpotMs).toBe(17.5 / 3);
    expect(m.requestLatencyMs).toEqual({ p50: 25, p90: 30, p95: 30, p99: 30, minimum: 15, maximum: 30, average: 70 / 3 });
  });

  it("ITL pools every gap; GTPS and per-user throughput", () => {
    expect(m.itlMs).toEqual({ p50: 5, p90: 10, p95: 10, p99: 10, minimum: 5, maximum: 10, average: 6.25 });
    expect(m.genTpsTokS.minimum).toBeCloseTo(133.3333333, 6);
    expect(m.genTpsTokS.p50).toBeCloseTo(200, 9);
    expect(m.tokenOutputSpeedTokS).toBeCloseTo((2 / 0.015 + 200 + 200) / 3, 9);
    expect(m.outputThroughputPerUserTokS).toBeCloseTo((120 + 2 / 0.015 + 2 / 0.03) / 3, 9);
  });

  it("issue rate: 0 when everything starts at once; the ns unit quirk otherwise", () => {
    expect(m.issueRate).toBe(0);
    expect(m.issueRateReqS).toBeNull();
    const staggered = computeMetrics([{ ...example112[0]! }, { ...example112[1]!, startMs: 4 }]);
    // (4 ms = 4e6 ns) / 2 requests = 2e6 ns "per request", × 1e9 → 2e15
    expect(staggered.issueRate).toBe(2e15);
    expect(staggered.issueRateReqS).toBe(500);
  });

  it("errored requests are counted, not aggregated", () => {
    const withFailure = computeMetrics([...example112, failedRecord, { ...failedRecord, taskId: 4 }]);
    expect(withFailure.numRequests).toBe(3);
    expect(withFailure.numFailed).toBe(2);
    expect(withFailure.failures).toEqual([{ reason: failedRecord.error, count: 2 }]);
    expect(withFailure.totalLatencyMs).toBe(30);
    expect(withFailure.ttftMs).toEqual(m.ttftMs);
  });

  it("no completed request: zeros", () => {
    const none = computeMetrics([failedRecord]);
    expect([none.numRequests, none.numFailed, none.totalLatencyMs, none.requestThroughputReqS, none.avgConcurrentRequests]).toEqual([0, 1, 0, 0, 0]);
  });
});
