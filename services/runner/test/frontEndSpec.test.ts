import { TRTLLM_PYTORCH_TIMING } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { runJob } from "../src/runJob.js";
import { constant, datasetSpec, invalid, jsonl, llama8bH100, uniform } from "./helpers.js";

const ds = jsonl(uniform(4, 128, 8));
const connect = (config: Parameters<typeof createPredictor>[0]) => createPredictor(config);

describe("trtllm-serve's front end of a job (EngineConfig.front_end)", () => {
  it("unset: none (trtllm-bench feeds the executor); set: the profile's costs, field by field overridable", async () => {
    expect((await resolveJob(datasetSpec(ds, {}, llama8bH100))).engine.frontEnd).toBeUndefined();
    expect((await resolveJob(datasetSpec(ds, { frontEnd: {} }, llama8bH100))).engine.frontEnd).toEqual(TRTLLM_PYTORCH_TIMING.serveFrontEnd);
    const job = await resolveJob(datasetSpec(ds, { frontEnd: { perResponseUs: 50 } }, llama8bH100));
    expect(job.engine.frontEnd).toEqual({ ...TRTLLM_PYTORCH_TIMING.serveFrontEnd, perResponseUs: 50 });
  });

  it("runs and says so in the report", async () => {
    const out = await runJob(await resolveJob(datasetSpec(ds, { frontEnd: { perRequestUs: 1000, perPromptTokenUs: 0, perResponseUs: 0 } }, constant)), connect);
    // All four are sent at 0 (constant predictor: 10 ms prefill); the thread hands them to the engine 1 ms apart.
    expect(out.reportText).toContain("trtllm-serve front end: 1000 µs/request + 0 µs/prompt token, 0 µs/response");
    expect(out.records.map((r) => r.startMs)).toEqual([0, 0, 0, 0]);
    // r0 reaches the engine at 1 ms and prefills 1–11; r1–r3 arrive while it runs and prefill together 11–21.
    expect(out.records.map((r) => r.ttftMs)).toEqual([11, 21, 21, 21]);
  });

  it("hostile values and unsupported runs are INVALID_ARGUMENT naming the field", async () => {
    const bad = async (engine: Parameters<typeof datasetSpec>[1], p = llama8bH100) => invalid(resolveJob(datasetSpec(ds, engine, p)));
    const e1 = await bad({ frontEnd: { perResponseUs: -1 } });
    expect(e1.field).toBe("spec.engine.front_end.per_response_us");
    expect(e1.reason).toBe("must be a number of microseconds in [0, 1000000] (got -1)");
    expect((await bad({ frontEnd: { perPromptTokenUs: Number.NaN } })).field).toBe("spec.engine.front_end.per_prompt_token_us");
    const e3 = await bad({ frontEnd: {} }, { ...llama8bH100, parallelism: { tp: 1, pp: 2, ep: 1 } });
    expect(e3.field).toBe("spec.engine.front_end");
  });
});
