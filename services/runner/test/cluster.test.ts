import { createPredictor } from "@servesim/perf";
import { FirstTokenSource, SpeculativeDecoding } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { resolveJob, runJob } from "../src/index.js";
import { constant, datasetSpec, invalid, jsonl, llama8bH100, uniform } from "./helpers.js";

const connect = (config: Parameters<typeof createPredictor>[0]) => createPredictor(config);
// Constant predictor: 10 ms per batch with a context request, 5 ms per decode-only batch.
const engine = { maxBatchSize: 8, maxNumTokens: 4096, kvNumBlocks: 1000, warmup: 0, disableOverlapScheduler: true };

describe("cluster jobs", () => {
  it("aggregated: two instances behind round_robin share the load and the clock", async () => {
    const s = datasetSpec(jsonl(uniform(4, 64, 3)), engine, constant);
    s.cluster = { aggregated: [{ numWorkers: 2 }] };
    const job = await resolveJob(s);
    expect(job.cluster?.totalGpus).toBe(2);
    const o = await runJob(job, connect, { collectIterations: true });
    // Each instance prefills its two requests together (10 ms), then two decode steps of 5 ms.
    expect(o.records.map((r) => [r.ttftMs, r.endMs])).toEqual([
      [10, 20],
      [10, 20],
      [10, 20],
      [10, 20],
    ]);
    expect(o.iterations?.map((i) => i.engine)).toEqual(["instance[0]", "instance[1]", "instance[0]", "instance[1]", "instance[0]", "instance[1]"]);
    const c = o.reportJson["cluster"] as { mode: string; total_gpus: number; instances: Array<{ name: string; requests: number }> };
    expect(c.mode).toBe("aggregated");
    expect(c.instances.map((i) => [i.name, i.requests])).toEqual([
      ["instance[0]", 2],
      ["instance[1]", 2],
    ]);
    expect(o.reportText).toContain("= CLUSTER");
    expect(o.reportText).toContain("Mode:                    aggregated (2 instances × 1 GPU; 2 GPUs)");
  });

  it("disaggregated: with first_token context, the first token from the prefill worker, the rest from a decode worker after the transfer", async () => {
    const s = datasetSpec(jsonl(uniform(2, 64, 3)), engine, constant);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 1 },
      decode: { numWorkers: 1, maxNumTokens: 8 },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
      firstToken: FirstTokenSource.FIRST_TOKEN_SOURCE_CONTEXT,
    };
    const job = await resolveJob(s);
    expect(job.cluster?.mode).toBe("disaggregated");
    // No model: the transfer moves no bytes (only the latency counts), and the warning says so.
    expect(job.warnings).toContain("the KV transfer moves no bytes: the job names no model and GPU whose KV size is known (only the fixed latency counts)");
    const o = await runJob(job, connect);
    // Request 0: prefill 0-10, transfer 10-11, decode steps at 16 and 21. Request 1: prefill 10-20; the
    // decode worker is mid-step (16-21) and takes the generation request when that step ends: transfer
    // 21-22, decode steps at 27 and 32.
    expect(o.records.map((r) => Array.from(r.tokenTimesMs))).toEqual([
      [10, 16, 21],
      [20, 27, 32],
    ]);
    const c = o.reportJson["cluster"] as { pools: Array<{ name: string; kv_transfer_ms?: { average: number } }> };
    expect(c.pools.map((p) => p.name)).toEqual(["prefill", "decode"]);
    // Request 1's transfer time includes the wait for the decode worker's next iteration (20-21).
    expect(c.pools[1]!.kv_transfer_ms!.average).toBe(1.5);
  });

  it("disaggregated: by default the client's first token comes from the decode worker when it first schedules the request, after a frontend cost", async () => {
    const s = datasetSpec(jsonl(uniform(2, 64, 3)), engine, constant);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 1 },
      decode: { numWorkers: 1, maxNumTokens: 8 },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
      requestOverheads: { frontendMs: 2, handoffMs: 0.5 },
    };
    const o = await runJob(await resolveJob(s), connect);
    // Request 0: frontend 0-2, prefill 2-12, hand-off 12-12.5, transfer -13.5; the decode worker schedules it
    // at 13.5 and sends the context's token then (TensorRT-LLM's _handle_first_token_response), steps end at
    // 18.5 and 23.5. Request 1: prefill 12-22, hand-off -22.5; the decode worker is mid-step (18.5-23.5):
    // transfer 23.5-24.5, first scheduled at 24.5, steps at 29.5, 34.5.
    expect(o.records.map((r) => Array.from(r.tokenTimesMs))).toEqual([
      [13.5, 18.5, 23.5],
      [24.5, 29.5, 34.5],
    ]);
    expect(o.records.map((r) => [r.startMs, r.ttftMs])).toEqual([
      [0, 13.5],
      [0, 24.5],
    ]);
  });

  it("disaggregated with an attention-DP decode worker: its ranks share the requests and every step", async () => {
    const s = datasetSpec(jsonl(uniform(4, 64, 3)), engine, constant);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 4 },
      decode: { numWorkers: 1, maxBatchSize: 2, maxNumTokens: 8, parallelism: { tp: 2, pp: 1, ep: 1, attentionDp: true } },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
    };
    const job = await resolveJob(s);
    expect(job.cluster?.totalGpus).toBe(3);
    const o = await runJob(job, connect, { collectIterations: true });
    // One prefill of the four prompts (0-10), transfers 10-11; the decode worker's two ranks take two
    // requests each (max_batch_size 2 per rank), send the context's token when they schedule them (11) and
    // step together: 11-16, 16-21.
    expect(o.records.map((r) => Array.from(r.tokenTimesMs))).toEqual([
      [11, 16, 21],
      [11, 16, 21],
      [11, 16, 21],
      [11, 16, 21],
    ]);
    expect(o.iterations?.map((i) => [i.engine, i.numActiveRequests])).toEqual([
      ["prefill[0]", 4],
      ["decode[0]", 4],
      ["decode[0]", 4],
    ]);
  });

  it("warm-up requests run through the cluster first; the measured run restarts the clock", async () => {
    const topology = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 1 },
      decode: { numWorkers: 1, maxNumTokens: 8 },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
    };
    const run = async (warmup: number) => {
      const s = datasetSpec(jsonl(uniform(2, 64, 5)), { ...engine, warmup }, constant);
      s.cluster = topology;
      const job = await resolveJob(s);
      return { job, o: await runJob(job, connect, { collectIterations: true }) };
    };
    const warm = await run(2);
    const cold = await run(0);
    expect(warm.job.warmup.length).toBe(2);
    expect(warm.job.warnings.some((w) => w.includes("warm-up"))).toBe(false);
    // Nothing of the warm-up shows: the constant predictor makes the measured run that of a cold cluster.
    expect(warm.o.records.map((r) => Array.from(r.tokenTimesMs))).toEqual(cold.o.records.map((r) => Array.from(r.tokenTimesMs)));
    expect(warm.o.iterations?.map((i) => [i.engine, i.simTimeMs])).toEqual(cold.o.iterations?.map((i) => [i.engine, i.simTimeMs]));
    expect(warm.o.result.numIterations).toBe(cold.o.result.numIterations);
  });

  it("speculative decoding on the decode pool (WorkerPool.speculative): MTP drafts accepted per step", async () => {
    const s = datasetSpec(jsonl(uniform(2, 64, 5)), engine, constant);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 1 },
      decode: {
        numWorkers: 1,
        maxNumTokens: 8,
        speculative: {
          decodingType: SpeculativeDecoding.SPECULATIVE_DECODING_MTP,
          maxDraftLen: 1,
          meanAcceptedDraftTokens: 1,
          draftModel: "",
          acceptanceRates: [],
        },
      },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
    };
    const o = await runJob(await resolveJob(s), connect);
    // The context's token when the decode worker schedules the request (11, 22), then every step verifies one
    // draft and accepts it: two tokens per 5 ms step.
    expect(o.records.map((r) => Array.from(r.tokenTimesMs))).toEqual([
      [11, 16, 16, 21, 21],
      [22, 27, 27, 32, 32],
    ]);
  });

  it("a pipeline-parallel instance (PipelineLoop) gives the single-engine pipeline run's records", async () => {
    const pp = { tp: 1, pp: 2, ep: 1 };
    const text = jsonl(uniform(6, 64, 3));
    // Poisson arrivals: the single engine runs the same PipelineLoop (runPipeline → runOnLoop).
    const poisson = { ...engine, maxBatchSize: 2, requestRate: 100, seed: 3 };
    const single = await runJob(await resolveJob(datasetSpec(text, poisson, { ...constant, parallelism: pp })), connect);
    const s = datasetSpec(text, poisson, constant);
    s.cluster = { aggregated: [{ numWorkers: 1, parallelism: pp }] };
    const job = await resolveJob(s);
    expect(job.cluster?.totalGpus).toBe(2);
    const o = await runJob(job, connect);
    const times = o.records.map((r) => Array.from(r.tokenTimesMs));
    expect(times).toEqual(single.records.map((r) => Array.from(r.tokenTimesMs)));
    // Stages of 5 ms (a micro-batch with a prompt) or 2.5 ms (decode only).
    expect(times).toEqual([
      [10, 15, 25],
      [25, 35, 40],
      [35, 40, 52.5],
      [47.5, 55, 60],
      [47.5, 55, 60],
      [52.5, 57.5, 62.5],
    ]);
    // All at once, micro-batch k takes the first max_batch_size requests no slot holds (TensorRT-LLM's fetch
    // into the micro-batch scheduled next): 0-1 in slot 0 (tokens at 10), 2-3 in slot 1 (15); 4-5 wait for
    // slot 0's room and prefill together when 0-1 are done (32.5). The single engine's clock-free fast path
    // (runPipeline's partitionJob, requests dealt to the slots up front) puts 4 and 5 in different slots.
    const burst = datasetSpec(text, { ...engine, maxBatchSize: 2 }, constant);
    burst.cluster = { aggregated: [{ numWorkers: 1, parallelism: pp }] };
    const b = await runJob(await resolveJob(burst), connect);
    expect(b.records.map((r) => Array.from(r.tokenTimesMs))).toEqual([
      [10, 17.5, 22.5],
      [10, 17.5, 22.5],
      [15, 20, 25],
      [15, 20, 25],
      [32.5, 37.5, 42.5],
      [32.5, 37.5, 42.5],
    ]);
  });

  it("pipeline parallelism with attention DP in a pool: one instance gives the single-engine run's records", async () => {
    const par = { tp: 2, pp: 2, ep: 1, attentionDp: true };
    const text = jsonl(uniform(6, 64, 3));
    // max_batch_size 1 per attention-DP rank: a slot's micro-batch takes max_batch_size × ranks = 2 requests, one
    // per rank, so with the constant predictor the times are those of the PP test's max_batch_size 2.
    const poisson = { ...engine, maxBatchSize: 1, requestRate: 100, seed: 3 };
    const single = await runJob(await resolveJob(datasetSpec(text, poisson, { ...constant, parallelism: par })), connect);
    const s = datasetSpec(text, poisson, constant);
    s.cluster = { aggregated: [{ numWorkers: 1, parallelism: par }] };
    const job = await resolveJob(s);
    expect(job.cluster?.totalGpus).toBe(4);
    const o = await runJob(job, connect);
    const times = o.records.map((r) => Array.from(r.tokenTimesMs));
    expect(times).toEqual(single.records.map((r) => Array.from(r.tokenTimesMs)));
    expect(times).toEqual([
      [10, 15, 25],
      [25, 35, 40],
      [35, 40, 52.5],
      [47.5, 55, 60],
      [47.5, 55, 60],
      [52.5, 57.5, 62.5],
    ]);
    expect(o.reportText).toContain("attention DP");
  });

  it("a pipeline-parallel decode pool takes max_batch_size requests per micro-batch", async () => {
    const s = datasetSpec(jsonl(uniform(4, 64, 3)), engine, constant);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 1, maxBatchSize: 4 },
      decode: { numWorkers: 1, maxBatchSize: 1, maxNumTokens: 8, parallelism: { tp: 1, pp: 2, ep: 1 } },
      kvTransfer: { bandwidthBytesPerS: 1e9, latencyMs: 1 },
    };
    const o = await runJob(await resolveJob(s), connect, { collectIterations: true });
    expect(o.result.numFailed).toBe(0);
    // Two requests decode at once (one per micro-batch slot), the other two after them.
    expect(
      (o.reportJson["cluster"] as { instances: Array<{ name: string; peak_active_requests: number }> }).instances.map((i) => [i.name, i.peak_active_requests]),
    ).toEqual([
      ["prefill[0]", 4],
      ["decode[0]", 2],
    ]);
  });

  it("sizes the KV transfer from the model on the decode workers", async () => {
    const s = datasetSpec(jsonl(uniform(1, 64, 2)), { warmup: 0 }, { ...llama8bH100, parallelism: { tp: 1, pp: 1, ep: 1 } });
    s.cluster = { aggregated: [], prefill: { numWorkers: 1 }, decode: { numWorkers: 1, parallelism: { tp: 2, pp: 1, ep: 1 } } };
    const job = await resolveJob(s);
    // Llama-3.1-8B, BF16 KV, TP2: 32 layers × 2 (K, V) × 4 KV heads × 128 × 2 B = 65,536 B per token per rank.
    expect(job.cluster?.kvBytesPerTokenPerRank).toBe(65536);
    expect(job.cluster?.totalGpus).toBe(3);
    expect(job.cluster?.links?.nvlinkDomain).toBe(8);
  });

  it("rejects malformed topologies naming the field", async () => {
    const base = datasetSpec(jsonl(uniform(1, 64, 2)), engine, constant);
    expect((await invalid(resolveJob({ ...base, cluster: { aggregated: [] } }))).field).toBe("spec.cluster");
    expect((await invalid(resolveJob({ ...base, cluster: { aggregated: [{ numWorkers: 0 }] } }))).field).toBe("spec.cluster.aggregated[0].num_workers");
    expect((await invalid(resolveJob({ ...base, cluster: { aggregated: [], prefill: { numWorkers: 1 } } }))).field).toBe("spec.cluster.decode");
    const disagg = { aggregated: [], prefill: { numWorkers: 1 }, decode: { numWorkers: 1 } };
    const oh = await invalid(resolveJob({ ...base, cluster: { ...disagg, requestOverheads: { frontendMs: Number.NaN } } }));
    expect(oh.field).toBe("spec.cluster.request_overheads.frontend_ms");
    const ho = await invalid(resolveJob({ ...base, cluster: { aggregated: [{ numWorkers: 2 }], requestOverheads: { handoffMs: 1 } } }));
    expect([ho.field, ho.reason]).toEqual(["spec.cluster.request_overheads.handoff_ms", "applies to disaggregated clusters only (prefill and decode pools)"]);
    expect((await invalid(resolveJob({ ...base, cluster: { ...disagg, firstToken: 7 as FirstTokenSource } }))).field).toBe("spec.cluster.first_token");
    const e = await invalid(resolveJob({ ...base, cluster: { aggregated: [{ numWorkers: 1 }], router: { type: "random", weights: {} } } }));
    expect(e.field).toBe("spec.cluster.router.type");
    const pool = await invalid(resolveJob({ ...base, cluster: { aggregated: [], prefill: { numWorkers: 1, maxBatchSize: 0 }, decode: { numWorkers: 1 } } }));
    expect(pool.field).toBe("spec.cluster.prefill: spec.engine.max_batch_size");
    const kv = await invalid(
      resolveJob({ ...base, cluster: { aggregated: [], prefill: { numWorkers: 1 }, decode: { numWorkers: 1 }, kvTransfer: { latencyMs: -1 } } }),
    );
    expect(kv.field).toBe("spec.cluster.kv_transfer.latency_ms");
  });
});
