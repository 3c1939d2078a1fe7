import { PredictorKind } from "@servesim/wire/predictor";
import { JobSpec } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { llmApiOptions } from "../src/deploy.js";
import type { SweepRow } from "../src/row.js";

const row: SweepRow = { id: "p0", index: 0, label: "p0", settings: {}, status: "ok", metrics: { max_batch_size_used: 64, max_num_tokens_used: 8192 } };

describe("llmApiOptions (extra_llm_api_options.yaml of a deployable candidate)", () => {
  it("carries batch_wait_timeout_iters / batch_wait_max_tokens_ratio as simulated", () => {
    const spec = JobSpec.fromPartial({
      engine: { batchWaitTimeoutIters: 20, batchWaitMaxTokensRatio: 0.9 },
      predictor: { kind: PredictorKind.PREDICTOR_KIND_ROOFLINE },
    });
    expect(llmApiOptions(spec, row)).toEqual({
      max_batch_size: 64,
      max_num_tokens: 8192,
      disable_overlap_scheduler: false,
      batch_wait_timeout_iters: 20,
      batch_wait_max_tokens_ratio: 0.9,
    });
    expect(llmApiOptions(JobSpec.fromPartial({ predictor: { kind: PredictorKind.PREDICTOR_KIND_ROOFLINE } }), row)).not.toHaveProperty(
      "batch_wait_timeout_iters",
    );
  });
});
