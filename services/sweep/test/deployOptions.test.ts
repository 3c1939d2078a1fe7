import { PredictorKind } from "@servesim/wire/predictor";
import { JobSpec } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { llmApiOptions } from "../src/deploy.js";
import type { SweepRow } from "../src/row.js";
import { parseSweepFile, pointSpec } from "../src/space.js";

const row: SweepRow = { id: "p0", index: 0, label: "p0", settings: {}, status: "ok", metrics: { max_batch_size_used: 64, max_num_tokens_used: 8192 } };

describe("batch waiting in sweeps: the two dimensions and the deployable extra_llm_api_options.yaml", () => {
  it("sweep points set them; llmApiOptions carries them as simulated", () => {
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
    const plan = parseSweepFile("workload: {dataset: d.jsonl}\nbatch_wait_max_tokens_ratio: 0.9\ngrid:\n  batch_wait_timeout_iters: [0, 20]\n", {
      file: "s.yaml",
      readText: () => '{"task_id": 0, "input_ids": [1, 2, 3], "output_tokens": 2}',
    });
    expect(plan.points.map((p) => p.label)).toEqual(["bwi0", "bwi20"]);
    expect(pointSpec(plan.base, plan.points[1]!).engine).toMatchObject({ batchWaitTimeoutIters: 20, batchWaitMaxTokensRatio: 0.9 });
    expect(() => parseSweepFile("workload: {dataset: d.jsonl}\nbatch_wait_max_tokens_ratio: 2\n", { file: "s.yaml", readText: () => "" })).toThrow(
      /s.yaml line 2: batch_wait_max_tokens_ratio: must be a number in \[0, 1\] \(got 2\)/,
    );
    expect(llmApiOptions(JobSpec.fromPartial({ predictor: { kind: PredictorKind.PREDICTOR_KIND_ROOFLINE } }), row)).not.toHaveProperty(
      "batch_wait_timeout_iters",
    );
  });
});
