import { TRTLLM_DEFAULT_CUDA_GRAPHS, TRTLLM_PYTORCH_TIMING } from "@servesim/engine";
import { TimingModel } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { constant, datasetSpec, invalid, jsonl, llama8bH100, uniform } from "./helpers.js";

const ds = jsonl(uniform(4, 128, 8));

describe("timing model of a job", () => {
  it("a simulated GPU runs TensorRT-LLM's defaults: overlap loop, CUDA graphs, the profile's host costs", async () => {
    const job = await resolveJob(datasetSpec(ds, {}, llama8bH100));
    expect(job.engine.overlap).toBe(true);
    expect(job.settings.timing).toEqual({ model: "overlap", host: TRTLLM_PYTORCH_TIMING.host["hopper"], cudaGraphs: TRTLLM_DEFAULT_CUDA_GRAPHS, layers: 32 });
  });

  it("the constant predictor keeps whole-iteration times and the non-overlap loop", async () => {
    const job = await resolveJob(datasetSpec(ds, {}, constant));
    expect(job.engine.overlap).toBe(false);
    expect(job.settings.timing.model).toBe("whole-iteration");
    const overlap = await resolveJob(datasetSpec(ds, { disableOverlapScheduler: false }, constant));
    expect(overlap.engine.overlap).toBe(true);
    expect(overlap.settings.timing.model).toBe("whole-iteration");
    const hd = await resolveJob(datasetSpec(ds, { timingModel: TimingModel.TIMING_MODEL_HOST_DEVICE }, constant));
    expect(hd.settings.timing.model).toBe("overlap");
  });

  it("flags turn each part off; host costs override the profile's field by field", async () => {
    const job = await resolveJob(
      datasetSpec(ds, { disableOverlapScheduler: true, disableCudaGraphs: true, hostCost: { stepUs: 750, launchUsPerLayer: 0 } }, llama8bH100),
    );
    expect(job.engine.overlap).toBe(false);
    expect(job.settings.timing).toMatchObject({
      model: "non-overlap",
      cudaGraphs: null,
      host: { stepUs: 750, perRequestUs: TRTLLM_PYTORCH_TIMING.host["hopper"]!.perRequestUs, launchUsPerLayer: 0 },
    });
    const whole = await resolveJob(datasetSpec(ds, { timingModel: TimingModel.TIMING_MODEL_WHOLE_ITERATION }, llama8bH100));
    expect(whole.settings.timing.model).toBe("whole-iteration");
    expect(whole.engine.overlap).toBe(false);
  });

  it("hostile values are INVALID_ARGUMENT naming the field", async () => {
    const bad = async (engine: Parameters<typeof datasetSpec>[1]) => invalid(resolveJob(datasetSpec(ds, engine, llama8bH100)));
    const e1 = await bad({ hostCost: { stepUs: -1 } });
    expect(e1.field).toBe("spec.engine.host_cost.step_us");
    expect(e1.reason).toBe("must be a number of microseconds in [0, 1000000] (got -1)");
    expect((await bad({ hostCost: { perRequestUs: Number.NaN } })).field).toBe("spec.engine.host_cost.per_request_us");
    expect((await bad({ hostCost: { launchUsPerLayer: 1e9 } })).field).toBe("spec.engine.host_cost.launch_us_per_layer");
    const e4 = await bad({ timingModel: 7 as TimingModel });
    expect(e4.field).toBe("spec.engine.timing_model");
    expect(e4.reason).toBe("unknown timing model 7 (WHOLE_ITERATION or HOST_DEVICE)");
  });
});
