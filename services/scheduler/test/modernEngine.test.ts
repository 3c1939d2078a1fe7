import { DType, PredictorKind } from "@servesim/wire/predictor";
import { JobState, SpeculativeDecoding } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { embeddedRun, inlineWorkload, jobSpec, predictorAndScheduler, variedRequests } from "./harness.js";

describe("attention DP, speculative decoding and PP over gRPC", () => {
  const servers = predictorAndScheduler();

  async function runRemote(spec: ReturnType<typeof jobSpec>) {
    const job = await servers.scheduler.client.submitJob(spec);
    let state = JobState.JOB_STATE_UNSPECIFIED;
    for await (const e of servers.scheduler.client.watchJob(job.id, { minIntervalMs: 1 })) state = e.job?.state ?? state;
    expect(state).toBe(JobState.JOB_STATE_SUCCEEDED);
    return servers.scheduler.client.getResult(job.id, { includeRequests: true, includeIterations: true });
  }

  it("DeepSeek-R1 with attention DP over 4 ranks and MTP: the scheduler (pricing with the predictor service) gives the embedded records", async () => {
    const spec = jobSpec({
      name: "adp mtp",
      engine: {
        warmup: 0,
        concurrency: 12,
        speculative: { decodingType: SpeculativeDecoding.SPECULATIVE_DECODING_MTP, maxDraftLen: 2, acceptanceRates: [0.8, 0.5], draftModel: "", seed: 3 },
      },
      predictor: {
        kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
        model: { name: "deepseek-ai/DeepSeek-R1" },
        gpu: { name: "b200_sxm" },
        parallelism: { tp: 4, pp: 1, ep: 4, attentionDp: true },
        weightDtype: DType.D_TYPE_NVFP4,
      },
      workload: inlineWorkload(variedRequests(24, 5).map((r) => ({ input: r.input * 8, output: r.output + 4 }))),
    });
    const out = await runRemote(spec);
    const local = await embeddedRun(spec);
    expect(out.requests).toEqual(local.requests);
    expect(out.iterations).toEqual(local.iterations);
    expect(out.result.reportText).toContain("ADP4");
  });

  it("a PP 2 job gives the embedded records", async () => {
    const spec = jobSpec({
      name: "pp",
      engine: { warmup: 0 },
      predictor: { model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" }, parallelism: { tp: 1, pp: 2, ep: 1 } },
      workload: inlineWorkload(variedRequests(12, 2)),
    });
    const out = await runRemote(spec);
    const local = await embeddedRun(spec);
    expect(out.requests).toEqual(local.requests);
    expect(out.result.reportText).toContain("PP2");
  });

  it("PP 2 with Poisson arrivals, and PP 2 × attention DP over 4 ranks, give the embedded records", async () => {
    const pp = jobSpec({
      name: "pp poisson",
      engine: { warmup: 2, requestRate: 40 },
      predictor: { model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" }, parallelism: { tp: 1, pp: 2, ep: 1 } },
      workload: inlineWorkload(variedRequests(16, 3)),
    });
    const out = await runRemote(pp);
    const local = await embeddedRun(pp);
    expect(out.requests).toEqual(local.requests);
    expect(out.iterations).toEqual(local.iterations);
    expect(out.requests.length).toBe(16);
    const adp = jobSpec({
      name: "pp adp",
      engine: { warmup: 0, requestRate: 100, maxBatchSize: 4 },
      predictor: {
        kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
        model: { name: "deepseek-ai/DeepSeek-R1" },
        gpu: { name: "b200_sxm" },
        parallelism: { tp: 4, pp: 2, ep: 4, attentionDp: true },
        weightDtype: DType.D_TYPE_NVFP4,
      },
      workload: inlineWorkload(variedRequests(20, 4).map((r) => ({ input: r.input * 8, output: r.output + 4 }))),
    });
    const remote = await runRemote(adp);
    const embedded = await embeddedRun(adp);
    expect(remote.requests).toEqual(embedded.requests);
    expect(remote.iterations).toEqual(embedded.iterations);
    expect(remote.result.reportText).toContain("PP2");
  });

  it("PP 2 and 3 on an uneven layer split (DeepSeek-R1's 61 layers), arrivals in time and all at once: the embedded records", async () => {
    for (const pp of [2, 3]) {
      for (const engine of [
        { warmup: 0, requestRate: 200, seed: 9, maxBatchSize: 4 },
        { warmup: 0, maxBatchSize: 4 },
      ]) {
        const spec = jobSpec({
          name: `pp${pp}`,
          engine,
          predictor: {
            kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
            model: { name: "deepseek-ai/DeepSeek-R1" },
            gpu: { name: "b200_sxm" },
            parallelism: { tp: 8, pp, ep: 8 },
            weightDtype: DType.D_TYPE_NVFP4,
          },
          workload: inlineWorkload(variedRequests(16, pp).map((r) => ({ input: r.input * 4, output: r.output + 4 }))),
        });
        const remote = await runRemote(spec);
        const embedded = await embeddedRun(spec);
        expect(remote.requests).toEqual(embedded.requests);
        expect(remote.iterations).toEqual(embedded.iterations);
        expect(remote.result.reportText).toContain(`PP${pp}`);
      }
    }
  });
});
