import { SloMetric } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { resolveJob, type resolveReportOptions } from "../src/resolveJob.js";
import { constant, datasetSpec, invalid, jsonl, uniform } from "./helpers.js";

const withReport = (report: Parameters<typeof resolveReportOptions>[0]) => ({ ...datasetSpec(jsonl(uniform(4, 64, 8)), {}, constant), report });

describe("JobSpec.report", () => {
  it("defaults to trtllm-bench's percentiles and no objectives", async () => {
    expect((await resolveJob(datasetSpec(jsonl(uniform(4, 64, 8)), {}, constant))).report).toEqual({ percentiles: [50, 90, 95, 99], slos: [] });
  });

  it("sorts percentiles and converts objectives", async () => {
    const job = await resolveJob(
      withReport({
        percentiles: [99.9, 50],
        goodput: [
          { metric: SloMetric.SLO_METRIC_TTFT, thresholdMs: 300, mean: false },
          { metric: SloMetric.SLO_METRIC_ITL, thresholdMs: 30, percentile: 99, mean: false },
          { metric: SloMetric.SLO_METRIC_E2EL, thresholdMs: 900, mean: true },
        ],
      }),
    );
    expect(job.report).toEqual({
      percentiles: [50, 99.9],
      slos: [
        { metric: "ttft", thresholdMs: 300 },
        { metric: "itl", thresholdMs: 30, statistic: 99 },
        { metric: "e2el", thresholdMs: 900, statistic: "mean" },
      ],
    });
    // The job's metrics use them.
    expect(job.report.slos).toHaveLength(3);
  });

  it("rejects bad values naming the field", async () => {
    const cases: Array<[Parameters<typeof resolveReportOptions>[0], string, RegExp]> = [
      [{ percentiles: [0], goodput: [] }, "spec.report.percentiles", /\(0, 100\]/],
      [{ percentiles: [Number.NaN], goodput: [] }, "spec.report.percentiles", /\(0, 100\]/],
      [{ percentiles: [], goodput: [{ metric: SloMetric.SLO_METRIC_UNSPECIFIED, thresholdMs: 3, mean: false }] }, "spec.report.goodput[0].metric", /TTFT/],
      [{ percentiles: [], goodput: [{ metric: SloMetric.SLO_METRIC_TPOT, thresholdMs: -1, mean: false }] }, "spec.report.goodput[0].threshold_ms", /> 0/],
      [{ percentiles: [], goodput: [{ metric: SloMetric.SLO_METRIC_TPOT, thresholdMs: 1, percentile: 90, mean: true }] }, "spec.report.goodput[0]", /not both/],
      [
        { percentiles: [], goodput: [{ metric: SloMetric.SLO_METRIC_TPOT, thresholdMs: 1, percentile: 190, mean: false }] },
        "spec.report.goodput[0].percentile",
        /\(0, 100\]/,
      ],
      [
        {
          percentiles: [],
          goodput: Array.from({ length: 9 }, (_, i) => ({ metric: SloMetric.SLO_METRIC_TTFT, thresholdMs: 1, percentile: i + 1, mean: false })),
        },
        "spec.report.goodput",
        /at most 8/,
      ],
    ];
    for (const [report, field, reason] of cases) {
      const err = await invalid(resolveJob(withReport(report)));
      expect(err.field).toBe(field);
      expect(err.reason).toMatch(reason);
    }
  });
});
