import { InvalidArgumentError } from "@servesim/core";
import { SloMetric } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { reportOptions } from "../src/index.js";

describe("reportOptions", () => {
  it("builds JobSpec.report from vLLM terms, Slo objects and percentile lists", () => {
    expect(reportOptions({ goodput: "ttft:300 tpot@p90:25", percentiles: "99.9,50" })).toEqual({
      percentiles: [50, 99.9],
      goodput: [
        { metric: SloMetric.SLO_METRIC_TTFT, thresholdMs: 300, mean: false },
        { metric: SloMetric.SLO_METRIC_TPOT, thresholdMs: 25, percentile: 90, mean: false },
      ],
    });
    expect(reportOptions({ goodput: ["e2el:9000", { metric: "itl", thresholdMs: 40, statistic: "mean" }], percentiles: [90] })).toEqual({
      percentiles: [90],
      goodput: [
        { metric: SloMetric.SLO_METRIC_E2EL, thresholdMs: 9000, mean: false },
        { metric: SloMetric.SLO_METRIC_ITL, thresholdMs: 40, mean: true },
      ],
    });
    expect(reportOptions({})).toEqual({ percentiles: [], goodput: [] });
    expect(() => reportOptions({ goodput: "ttft:0" })).toThrow(InvalidArgumentError);
  });
});
