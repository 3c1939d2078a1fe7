import { DType, PredictorKind } from "@servesim/wire/predictor";
import { SchedulerPolicy, SpeculativeDecoding } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { resolveJob, runResolvedJob } from "../src/index.js";
import { constant, inline, invalid, llama8bH100, spec } from "./helpers.js";

const r1B200 = {
  kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
  model: { name: "deepseek-ai/DeepSeek-R1" },
  gpu: { name: "b200_sxm" },
  parallelism: { tp: 8, pp: 1, ep: 8 },
  weightDtype: DType.D_TYPE_NVFP4,
  kvCacheDtype: DType.D_TYPE_FP8,
};
const work = inline(Array.from({ length: 16 }, (_, i) => ({ taskId: i, inputLength: 256, outputTokens: 64 })));
const mtp = (o: object = {}) => ({ decodingType: SpeculativeDecoding.SPECULATIVE_DECODING_MTP, maxDraftLen: 3, acceptanceRates: [], draftModel: "", ...o });

describe("speculative_config, attention DP and PP resolved once", () => {
  it("MTP with a mean acceptance: one rate per draft, the MTP layer's KV in the pool, the predictor sees the drafts", async () => {
    const plain = await resolveJob(spec({ engine: { warmup: 0, concurrency: 8 }, predictor: r1B200, workload: work }));
    const job = await resolveJob(
      spec({ engine: { warmup: 0, concurrency: 8, speculative: mtp({ meanAcceptedDraftTokens: 1.5 }) }, predictor: r1B200, workload: work }),
    );
    expect(job.engine.speculative?.kind).toBe("mtp");
    expect(job.engine.speculative?.maxDraftLen).toBe(3);
    expect(job.settings.speculative?.meanAccepted).toBeCloseTo(1.5, 9);
    // One more layer's KV per token: fewer blocks than without MTP.
    expect(job.engine.numBlocks).toBeLessThan(plain.engine.numBlocks);
    const { createPredictor } = await import("@servesim/perf");
    const p = await createPredictor(job.predictor.config);
    const a = await runResolvedJob(plain, p);
    const b = await runResolvedJob(job, p);
    expect(b.records.every((r) => r.outputLength === 64)).toBe(true);
    // More tokens per step, each step dearer.
    expect(b.metrics.avgTpotMs).toBeLessThan(a.metrics.avgTpotMs);
    expect(b.result.numIterations).toBeLessThan(a.result.numIterations);
  });

  it("rejects bad speculative settings naming the field", async () => {
    const e1 = await invalid(resolveJob(spec({ engine: { speculative: mtp() }, predictor: r1B200, workload: work })));
    expect(e1.field).toBe("spec.engine.speculative.mean_accepted_draft_tokens");
    const e2 = await invalid(resolveJob(spec({ engine: { speculative: mtp({ meanAcceptedDraftTokens: 1 }) }, predictor: llama8bH100, workload: work })));
    expect(e2.field).toBe("spec.engine.speculative.decoding_type");
    expect(e2.reason).toMatch(/has none \(num_nextn_predict_layers\); use EAGLE3/);
    const e3 = await invalid(resolveJob(spec({ engine: { speculative: mtp({ acceptanceRates: [0.5, 2, 0.1] }) }, predictor: r1B200, workload: work })));
    expect(e3.field).toBe("spec.engine.speculative.acceptance_rates[1]");
    const e4 = await invalid(
      resolveJob(
        spec({
          engine: { schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION, speculative: mtp({ meanAcceptedDraftTokens: 1 }) },
          predictor: r1B200,
          workload: work,
        }),
      ),
    );
    expect(e4.field).toBe("spec.engine.scheduler_policy");
    const e5 = await invalid(
      resolveJob(spec({ engine: { speculative: mtp({ maxDraftLen: 17, meanAcceptedDraftTokens: 1 }) }, predictor: r1B200, workload: work })),
    );
    expect(e5.field).toBe("spec.engine.speculative.max_draft_len");
    const e6 = await invalid(resolveJob(spec({ engine: { cudaGraph: { batchSizes: [1, 0] } }, predictor: constant, workload: work })));
    expect(e6.field).toBe("spec.engine.cuda_graph.batch_sizes[1]");
  });

  it("attention DP: ranks = TP, a KV pool per rank, attention_dp_config balancing; PP runs its micro-batches", async () => {
    const adp = await resolveJob(
      spec({
        engine: { warmup: 0, attentionDp: { enableBalance: true } },
        predictor: { ...r1B200, parallelism: { ...r1B200.parallelism, attentionDp: true } },
        workload: work,
      }),
    );
    expect(adp.engine.attentionDpRanks).toBe(8);
    expect(adp.settings.attentionDpRanks).toBe(8);
    expect(adp.engine.attentionDpBalance).toEqual({ timeoutIters: 50, batchingWaitIters: 10 });
    const tuned = await resolveJob(
      spec({
        engine: { warmup: 0, attentionDp: { enableBalance: true, timeoutIters: 4, batchingWaitIters: 0 } },
        predictor: { ...r1B200, parallelism: { ...r1B200.parallelism, attentionDp: true } },
        workload: work,
      }),
    );
    expect(tuned.engine.attentionDpBalance).toEqual({ timeoutIters: 4, batchingWaitIters: 0 });
    const noAdp = await resolveJob(spec({ engine: { warmup: 0, attentionDp: { enableBalance: true } }, predictor: r1B200, workload: work }));
    expect(noAdp.engine.attentionDpBalance).toBeUndefined();
    expect(noAdp.warnings.join("\n")).toMatch(/attention_dp_config\.enable_balance has no effect: attention DP is off/);
    const bad = await invalid(
      resolveJob(
        spec({
          engine: { warmup: 0, attentionDp: { enableBalance: true, timeoutIters: 2 ** 31 } },
          predictor: { ...r1B200, parallelism: { ...r1B200.parallelism, attentionDp: true } },
          workload: work,
        }),
      ),
    );
    expect(bad.field).toBe("spec.engine.attention_dp.timeout_iters");
    const pp = await resolveJob(spec({ engine: { warmup: 0 }, predictor: { ...llama8bH100, parallelism: { tp: 1, pp: 2, ep: 1 } }, workload: work }));
    expect(pp.engine.ppSize).toBe(2);
    const { createPredictor } = await import("@servesim/perf");
    const out = await runResolvedJob(pp, await createPredictor(pp.predictor.config));
    expect(out.records).toHaveLength(16);
    expect(out.result.numFailed).toBe(0);
  });

  it("PP with attention DP in every stage and Poisson arrivals: resolved and run, deterministic", async () => {
    const job = await resolveJob(
      spec({
        engine: { warmup: 2, requestRate: 50, maxBatchSize: 4 },
        predictor: { ...r1B200, parallelism: { tp: 4, pp: 2, ep: 4, attentionDp: true } },
        workload: work,
      }),
    );
    expect([job.engine.ppSize, job.engine.attentionDpRanks, job.engine.arrivals.kind]).toEqual([2, 4, "poisson"]);
    const { createPredictor } = await import("@servesim/perf");
    const run = async () => runResolvedJob(job, await createPredictor(job.predictor.config), { collectIterations: true });
    const a = await run();
    const b = await run();
    expect(a.result.numFailed).toBe(0);
    expect(a.records.map((r) => [r.startMs, r.firstTokenMs, r.endMs])).toEqual(b.records.map((r) => [r.startMs, r.firstTokenMs, r.endMs]));
    // A micro-batch holds at most max_batch_size per rank; they leave the last stage in order.
    const its = a.iterations!;
    expect(Math.max(...its.map((s) => s.inflightBatchingStats.numScheduledRequests))).toBeLessThanOrEqual(16);
    for (let i = 1; i < its.length; i++) expect(its[i]!.simTimeMs).toBeGreaterThanOrEqual(its[i - 1]!.simTimeMs);
    expect(a.metrics.requestThroughputReqS).toBeGreaterThan(0);
  });
});
