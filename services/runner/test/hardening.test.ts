import { InvalidArgumentError } from "@servesim/core";
import { PredictorKind } from "@servesim/wire/predictor";
import { Distribution } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { constant, inline, spec } from "./helpers.js";

const normal = (inputMean: number, outputMean: number, stdev = 0) => ({
  synthetic: {
    distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
    numRequests: 4,
    inputMean,
    inputStdev: stdev,
    outputMean,
    outputStdev: stdev,
  },
});

async function fieldError(p: Promise<unknown>): Promise<{ field: string; reason: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InvalidArgumentError);
  return { field: (e as InvalidArgumentError).field, reason: (e as InvalidArgumentError).reason };
}

describe("validation at submission of values that used to overflow or pass", () => {
  it("synthetic lengths beyond 32 bits are INVALID_ARGUMENT naming the field", async () => {
    expect(await fieldError(resolveJob(spec({ predictor: constant, workload: normal(1e12, 10) })))).toEqual({
      field: "spec.workload.synthetic.input_mean",
      reason: "plus 10 standard deviations must be at most 1073741824 tokens per request (got 1000000000000 + 10 × 0)",
    });
    expect((await fieldError(resolveJob(spec({ predictor: constant, workload: normal(10, 2 ** 32 + 5) })))).field).toBe("spec.workload.synthetic.output_mean");
    expect((await fieldError(resolveJob(spec({ predictor: constant, workload: normal(10, 10, Number.NaN) })))).field).toBe(
      "spec.workload.synthetic.input_stdev",
    );
  });

  it.each([
    ["constantPrefillTimeMs", Number.NaN, "constant_prefill_time_ms"],
    ["constantDecodeTimeMs", Number.POSITIVE_INFINITY, "constant_decode_time_ms"],
    ["constantDecodeTimeMs", -1, "constant_decode_time_ms"],
    ["prefillScaleFactor", 0, "prefill_scale_factor"],
  ] as const)("predictor %s = %s is INVALID_ARGUMENT at submission", async (key, value, name) => {
    const job = spec({ predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, [key]: value }, workload: inline([{ inputLength: 8, outputTokens: 2 }]) });
    const e = await fieldError(resolveJob(job));
    expect(e.field).toBe(`spec.predictor.${name}`);
    expect(e.reason).toMatch(/^must be a finite number/);
  });
});
