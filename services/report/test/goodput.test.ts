import { parseSlos } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { interTokenGapDistribution } from "../src/interTokenGaps.js";
import { computeMetrics } from "../src/metrics.js";
import { buildReportJson } from "../src/reportJson.js";
import { latencySection, renderTextReport } from "../src/textReport.js";
import { example112, failedRecord, input112 } from "./fixtures.js";

// Worked example E2 (docs/engine.md): R0 TTFT 10, TPOT 7.5, e2e 25, gaps [5, 10]; R1 TTFT 10, TPOT 5, e2e 15, gap [5];
// R2 TTFT 25, TPOT 5, e2e 30, gap [5]. The run lasts 30 ms.
describe("goodput (requests meeting every objective)", () => {
  it("counts the requests within every threshold, per second and per GPU", () => {
    const m = computeMetrics(example112, { worldSize: 2, slos: parseSlos(["ttft:10 tpot:6"]) });
    const g = m.goodput!;
    expect(g.goodRequests).toBe(1); // R1: R0's TPOT and R2's TTFT miss
    expect(g.totalRequests).toBe(3);
    expect(g.fraction).toBe(1 / 3);
    expect(g.requestGoodputReqS).toBe(1 / 0.03);
    expect(g.outputGoodputTokS).toBe(2 / 0.03);
    expect(g.requestGoodputPerGpuReqS).toBe(1 / 0.03 / 2);
    expect(g.objectives.map((o) => [o.met, o.attainment, o.value, o.statisticMet])).toEqual([
      [2, 2 / 3, null, null],
      [2, 2 / 3, null, null],
    ]);
    expect(g.sloMet).toBe(true);
  });

  it("itl judges each request's largest gap; statistics bound the run", () => {
    const m = computeMetrics(example112, { slos: parseSlos(["itl:7", "ttft@p90:20", "tpot@mean:6", "itl@p50:5"]) });
    const g = m.goodput!;
    expect(g.objectives.map((o) => o.met)).toEqual([2, 2, 2, 2]); // R0's 10 ms gap; R2's TTFT 25; R0's TPOT 7.5; R0's gap again
    expect(g.goodRequests).toBe(1);
    expect(g.objectives.map((o) => o.value)).toEqual([null, 25, 17.5 / 3, 5]);
    expect(g.objectives.map((o) => o.statisticMet)).toEqual([null, false, true, true]);
    expect(g.sloMet).toBe(false);
  });

  it("failed requests count in the total and never as good; no objectives, no goodput", () => {
    const m = computeMetrics([...example112, failedRecord], { slos: parseSlos(["e2el:100"]) });
    expect(m.goodput!.goodRequests).toBe(3);
    expect(m.goodput!.totalRequests).toBe(4);
    expect(m.goodput!.fraction).toBe(0.75);
    expect(computeMetrics(example112).goodput).toBeNull();
    expect(computeMetrics([failedRecord], { slos: parseSlos(["ttft@p90:1"]) }).goodput).toMatchObject({ goodRequests: 0, sloMet: false, fraction: 0 });
  });
});

describe("latency percentiles", () => {
  it("TTFT, TPOT, pooled ITL and e2e at the asked percentiles, nearest rank", () => {
    const m = computeMetrics(example112, { percentiles: [50, 99.9, 90] });
    expect(m.latency).toEqual({
      percentiles: [50, 90, 99.9],
      ttft: [10, 25, 25],
      tpot: [5, 7.5, 7.5],
      itl: [5, 10, 10],
      e2el: [25, 30, 30],
    });
    expect(computeMetrics(example112).latency.percentiles).toEqual([50, 90, 95, 99]);
  });

  it("pooled ITL percentiles match sorting every gap", () => {
    const series = [Float64Array.from([0, 1, 3, 6, 10, 15]), Float64Array.from([2, 2.5]), Float64Array.from([7])];
    const gaps = [1, 2, 3, 4, 5, 0.5].sort((a, b) => a - b);
    const ps = [10, 25, 50, 75, 99.9, 100];
    expect(interTokenGapDistribution(series, ps).at).toEqual(ps.map((p) => gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * (p / 100)))]));
  });
});

describe("the report with goodput", () => {
  const m = computeMetrics(example112, { percentiles: [50, 99.9], slos: parseSlos(["ttft:10", "tpot@p90:8"]) });

  it("LATENCY PERCENTILES section (golden)", () => {
    expect(latencySection(m)).toBe(
      "===========================================================\n" +
        "= LATENCY PERCENTILES (ms)\n" +
        "===========================================================\n" +
        "                   TTFT          TPOT           ITL          E2EL\n" +
        "P50             10.0000        5.0000        5.0000       25.0000\n" +
        "P99.9           25.0000        7.5000       10.0000       30.0000\n" +
        "AVERAGE         15.0000        5.8333        6.2500       23.3333\n" +
        "MAXIMUM         25.0000        7.5000       10.0000       30.0000\n" +
        "\n" +
        "-- Goodput (SLO: ttft <= 10 ms, tpot p90 <= 8 ms)\n" +
        "\n" +
        "Good Requests:                          2 of 3 (66.6667%)\n" +
        "Request Goodput (req/sec):              66.6667\n" +
        "Output Goodput (tokens/sec):            166.6667\n" +
        "Per GPU Request Goodput (req/sec/gpu):  66.6667\n" +
        "Per GPU Output Goodput (tps/gpu):       166.6667\n" +
        "[ttft <= 10 ms]:                        met by 2 (66.6667%)\n" +
        "[tpot p90 <= 8 ms]:                     met by 3 (100.0000%); p90 = 7.5000 ms: met\n" +
        "Run-Level Objectives Met:               yes\n",
    );
  });

  it("shown after PERFORMANCE OVERVIEW when the report options are known", () => {
    const text = renderTextReport(m, { ...input112, report: { percentiles: [50, 99.9], slos: m.goodput!.slos } });
    expect(text).toContain("[Latency] AVERAGE: 23.3333\n\n===========================================================\n= LATENCY PERCENTILES (ms)\n");
    expect(text).toContain("Run-Level Objectives Met:               yes\n\n===========================================================\n= DATASET DETAILS\n");
    expect(renderTextReport(m, input112)).not.toContain("LATENCY PERCENTILES");
  });

  it("report.json: sim.latency_percentiles_ms and sim.goodput", () => {
    const sim = buildReportJson(m, input112)["sim"] as Record<string, unknown>;
    expect(sim["latency_percentiles_ms"]).toEqual({
      ttft: { p50: 10, "p99.9": 25, average: 15, minimum: 10, maximum: 25 },
      tpot: { p50: 5, "p99.9": 7.5, average: 17.5 / 3, minimum: 5, maximum: 7.5 },
      itl: { p50: 5, "p99.9": 10, average: 6.25, minimum: 5, maximum: 10 },
      e2el: { p50: 25, "p99.9": 30, average: 70 / 3, minimum: 15, maximum: 30 },
    });
    expect(sim["goodput"]).toEqual({
      slo: [
        { metric: "ttft", threshold_ms: 10, statistic: null },
        { metric: "tpot", threshold_ms: 8, statistic: "p90" },
      ],
      good_requests: 2,
      total_requests: 3,
      good_fraction: 2 / 3,
      request_goodput_req_s: 2 / 0.03,
      output_goodput_tok_s: 5 / 0.03,
      request_goodput_per_gpu_req_s: 2 / 0.03,
      output_goodput_per_gpu_tok_s: 5 / 0.03,
      objectives: [
        { metric: "ttft", threshold_ms: 10, statistic: null, met_requests: 2, attainment: 2 / 3, value_ms: null, statistic_met: null },
        { metric: "tpot", threshold_ms: 8, statistic: "p90", met_requests: 3, attainment: 1, value_ms: 7.5, statistic_met: true },
      ],
      slo_met: true,
    });
    expect((buildReportJson(computeMetrics(example112), input112)["sim"] as Record<string, unknown>)["goodput"]).toBeNull();
  });
});
