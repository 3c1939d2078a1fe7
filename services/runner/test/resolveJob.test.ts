import { promptBlocks } from "@servesim/core";
import { DType, PredictorKind } from "@servesim/wire/predictor";
import { ChunkingPolicy, Distribution, RampUpStrategy, SchedulerPolicy } from "@servesim/wire/scheduler";
import { syntheticDataset } from "@servesim/workload";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { constant, datasetSpec, inline, invalid, jsonl, llama8bH100, spec, uniform } from "./helpers.js";

const ds128 = jsonl(uniform(8, 128, 128));

describe("resolveJob defaults", () => {
  it("Llama-3.1-8B on H100: roofline, trtllm-bench heuristic 2048/3840, KV from GPU memory (KvCacheCreator, get_benchmark_engine_settings)", async () => {
    const job = await resolveJob(datasetSpec(ds128, {}, llama8bH100));
    expect(job.predictor.kind).toBe("roofline");
    expect(job.predictor.config.kind).toBe(PredictorKind.PREDICTOR_KIND_ROOFLINE);
    expect(job.predictor.config.weightDtype).toBe(DType.D_TYPE_BF16);
    expect(job.predictor.config.kvCacheDtype).toBe(DType.D_TYPE_BF16);
    expect(job.predictor.config.parallelism).toEqual({ tp: 1, pp: 1, ep: 1 });
    expect(job.engine.maxBatchSize).toBe(2048);
    expect(job.engine.maxNumTokens).toBe(3840);
    expect(job.settings.maxBatchSizeSource).toBe("heuristic");
    expect(job.settings.maxNumTokensSource).toBe("heuristic");
    // (85899345920 − 16060522496 weights − 377487360 act − 1050673152 logits − 3.5 GiB) × 0.9 / 131072 B/token = 443933 tokens.
    expect(job.settings.kvSource).toBe("gpu_memory");
    expect(job.settings.kvCapacity?.maxTokens).toBe(443933);
    expect(job.engine.numBlocks).toBe(13872);
    expect(job.engine).toMatchObject({
      maxSeqLen: 256,
      ppSize: 1,
      capacityPolicy: "guaranteed_no_evict",
      chunking: null,
      tokensPerBlock: 32,
      enableBlockReuse: true,
      arrivals: { kind: "all_at_once" },
    });
    expect(job.settings.kvCacheFreeGpuMemFraction).toBe(0.9);
    expect(job.requests).toHaveLength(8);
    expect(job.warmup).toHaveLength(2);
    expect(job.dataset.datasetPath).toBe("data.jsonl");
    expect(job.dataset.avgIsl).toBe(128);
    expect(job.warnings).toEqual([]);
  });

  it("FP8 weights and KV give the documented 4096 / 8192", async () => {
    const job = await resolveJob(datasetSpec(ds128, {}, { ...llama8bH100, weightDtype: DType.D_TYPE_FP8 }));
    expect(job.predictor.kvDtype).toBe("fp8");
    expect(job.engine.maxBatchSize).toBe(4096);
    expect(job.engine.maxNumTokens).toBe(8192);
  });

  it("a given max_batch_size is kept and the heuristic fills max_num_tokens (≥ max ISL + max_bs without chunking)", async () => {
    const job = await resolveJob(datasetSpec(jsonl([...uniform(7, 128, 128), { isl: 3000, osl: 10 }]), { maxBatchSize: 64 }, llama8bH100));
    expect(job.engine.maxBatchSize).toBe(64);
    expect(job.settings.maxBatchSizeSource).toBe("spec");
    expect(job.engine.maxNumTokens).toBeGreaterThanOrEqual(3000 + 64);
    expect(job.settings.maxNumTokensSource).toBe("heuristic");
  });

  it("both given: no heuristic", async () => {
    const job = await resolveJob(datasetSpec(ds128, { maxBatchSize: 8, maxNumTokens: 512 }, llama8bH100));
    expect(job.settings.heuristic).toBeUndefined();
    expect([job.engine.maxBatchSize, job.engine.maxNumTokens]).toEqual([8, 512]);
  });

  it("constant predictor without model or GPU: LLM API defaults and an unbounded KV pool, with a warning", async () => {
    const job = await resolveJob(datasetSpec(jsonl(uniform(3, 100, 10)), { warmup: 0 }, {}));
    expect(job.predictor.kind).toBe("constant");
    expect(job.engine.maxBatchSize).toBe(2048);
    expect(job.engine.maxNumTokens).toBe(8192);
    expect(job.settings.kvSource).toBe("unbounded");
    expect(job.engine.numBlocks).toBe(3 * Math.ceil(110 / 32));
    expect(job.warnings.some((w) => w.includes("no model and GPU"))).toBe(true);
  });

  it("KV: kv_num_blocks wins, kv_cache_max_tokens caps the memory estimate, or sizes the pool alone", async () => {
    const blocks = await resolveJob(datasetSpec(ds128, { kvNumBlocks: 100, kvCacheMaxTokens: 64 }, llama8bH100));
    expect(blocks.engine.numBlocks).toBe(100);
    expect(blocks.settings.kvSource).toBe("kv_num_blocks");
    const capped = await resolveJob(datasetSpec(ds128, { kvCacheMaxTokens: 10_000 }, llama8bH100));
    expect(capped.engine.numBlocks).toBe(312);
    expect(capped.settings.kvSource).toBe("kv_cache_max_tokens");
    const alone = await resolveJob(datasetSpec(ds128, { kvCacheMaxTokens: 1000 }, constant));
    expect(alone.engine.numBlocks).toBe(31);
  });

  it("maps policies, chunking, reuse, tokens per block, arrivals and max_seq_len", async () => {
    const job = await resolveJob(
      datasetSpec(
        ds128,
        {
          schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION,
          enableChunkedContext: true,
          chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_EQUAL_PROGRESS,
          enableBlockReuse: false,
          tokensPerBlock: 64,
          concurrency: 4,
          maxSeqLen: 1000,
        },
        constant,
      ),
    );
    expect(job.engine).toMatchObject({
      capacityPolicy: "max_utilization",
      chunking: "equal_progress",
      enableBlockReuse: false,
      tokensPerBlock: 64,
      arrivals: { kind: "concurrency", concurrency: 4 },
      maxSeqLen: 1000,
    });
    const poisson = await resolveJob(datasetSpec(ds128, { requestRate: 2.5, seed: 7 }, constant));
    expect(poisson.engine.arrivals).toEqual({ kind: "poisson", rate: 2.5, seed: 7 });
  });

  it("vLLM's and AIPerf's arrival settings: burstiness, ramp-up, a ceiling over a rate", async () => {
    const gamma = await resolveJob(datasetSpec(ds128, { requestRate: 2.5, burstiness: 0.5, seed: 7 }, constant));
    expect(gamma.engine.arrivals).toEqual({ kind: "gamma", rate: 2.5, burstiness: 0.5, seed: 7 });
    const ramp = await resolveJob(datasetSpec(ds128, { rampUp: { strategy: RampUpStrategy.RAMP_UP_STRATEGY_LINEAR, startRps: 1, endRps: 8 } }, constant));
    expect(ramp.engine.arrivals).toEqual({ kind: "gamma", rate: Infinity, burstiness: 1, seed: 0, rampUp: { strategy: "linear", startRps: 1, endRps: 8 } });
    const gated = await resolveJob(datasetSpec(ds128, { requestRate: 3, concurrency: 2, seed: 1 }, constant));
    expect(gated.engine.arrivals).toEqual({ kind: "max_concurrency", limit: 2, schedule: { kind: "poisson", rate: 3, seed: 1 } });
    expect([gamma.arrivals, ramp.arrivals, gated.arrivals]).toEqual([
      "gamma arrivals at 2.5 req/s, burstiness 0.5",
      "linear ramp-up 1 -> 8 req/s, burstiness 1",
      "Poisson arrivals at 3 req/s, at most 2 requests in flight",
    ]);
  });

  it("a chunking policy without chunked context is reported as having no effect", async () => {
    const job = await resolveJob(datasetSpec(ds128, { chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_EQUAL_PROGRESS }, constant));
    expect(job.engine.chunking).toBeNull();
    expect(job.warnings.join()).toContain("chunking_policy has no effect");
  });

  it("warm-up: trtllm-bench's default 2, seeded choice from the dataset, 0 skips", async () => {
    const text = jsonl(Array.from({ length: 20 }, (_, i) => ({ isl: 10 + i, osl: 5 })));
    const a = await resolveJob(datasetSpec(text, { seed: 3, warmup: 5 }, constant));
    const b = await resolveJob(datasetSpec(text, { seed: 3, warmup: 5 }, constant));
    expect(a.warmup).toHaveLength(5);
    expect(a.warmup.map((r) => r.taskId)).toEqual(b.warmup.map((r) => r.taskId));
    for (const w of a.warmup) expect(a.requests).toContain(w);
    expect((await resolveJob(datasetSpec(text, {}, constant))).warmup).toHaveLength(2);
    expect((await resolveJob(datasetSpec(text, { warmup: 0 }, constant))).warmup).toHaveLength(0);
  });

  it("num_requests keeps the first N of every workload kind", async () => {
    const ds = await resolveJob(datasetSpec(ds128, { numRequests: 3 }, constant));
    expect(ds.requests.map((r) => r.taskId)).toEqual([0, 1, 2]);
    const inl = await resolveJob(
      spec({
        engine: { numRequests: 2 },
        workload: inline([
          { inputLength: 5, outputTokens: 2 },
          { inputLength: 6, outputTokens: 2 },
          { inputLength: 7, outputTokens: 2 },
        ]),
      }),
    );
    expect(inl.requests.map((r) => r.inputLength)).toEqual([5, 6]);
  });

  it("inline input_ids set the input length; synthetic workloads use the model's vocabulary", async () => {
    const job = await resolveJob(spec({ workload: inline([{ inputIds: [1, 2, 3], outputTokens: 4 }]) }));
    expect(job.requests[0]).toMatchObject({ inputLength: 3, outputTokens: 4 });
    // The ids are kept as their prefix-cache block keys (tokens_per_block 32: no full block, a tail).
    expect(job.requests[0]!.inputIds).toBeUndefined();
    expect(job.requests[0]!.blocks).toEqual(promptBlocks([1, 2, 3], 32));
    const syn = await resolveJob(
      spec({
        predictor: { model: { name: "tinyllama" } },
        workload: {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
            numRequests: 4,
            inputMean: 50,
            inputStdev: 0,
            outputMean: 9,
            outputStdev: 0,
            inputMin: 0,
            inputMax: 0,
            outputMin: 0,
            outputMax: 0,
            seed: 0,
            vocabSize: 0,
          },
        },
      }),
    );
    expect(syn.requests.map((r) => [r.inputLength, r.outputTokens])).toEqual([
      [50, 9],
      [50, 9],
      [50, 9],
      [50, 9],
    ]);
    // The keys are those of the ids drawn from TinyLlama's 32000-token vocabulary.
    const ids = (vocabSize: number) =>
      syntheticDataset({ kind: "token-norm-dist", numRequests: 4, inputMean: 50, inputStdev: 0, outputMean: 9, outputStdev: 0, vocabSize }).requests.map((r) =>
        promptBlocks(r.inputIds!, 32),
      );
    expect(syn.requests.map((r) => r.blocks)).toEqual(ids(32000));
    expect(syn.requests.map((r) => r.blocks)).not.toEqual(ids(128256));
  });
});

describe("resolveJob validation errors name the field", () => {
  const cases: Array<[string, () => Promise<unknown>, string, RegExp?]> = [
    [
      "unknown model",
      () => resolveJob(datasetSpec(ds128, {}, { model: { name: "gpt-17" }, gpu: { name: "h100_sxm" } })),
      "spec.predictor.model",
      /unknown model "gpt-17"/,
    ],
    ["unknown GPU", () => resolveJob(datasetSpec(ds128, {}, { model: { name: "llama-3.1-8b" }, gpu: { name: "tpu9" } })), "spec.predictor.gpu", /unknown GPU/],
    ["unknown predictor kind", () => resolveJob(datasetSpec(ds128, {}, { kind: 42 as PredictorKind })), "spec.predictor.kind"],
    [
      "roofline without a GPU",
      () => resolveJob(datasetSpec(ds128, {}, { kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, model: { name: "llama-3.1-8b" } })),
      "spec.predictor.gpu",
    ],
    [
      "aic without database_path",
      () => resolveJob(datasetSpec(ds128, {}, { ...llama8bH100, kind: PredictorKind.PREDICTOR_KIND_AIC, backendVersion: "1.2.0rc5" })),
      "spec.predictor.database_path",
    ],
    [
      "pp > 1 with a concurrency ceiling over a rate",
      () => resolveJob(datasetSpec(ds128, { requestRate: 10, concurrency: 2 }, { ...llama8bH100, parallelism: { tp: 1, pp: 2, ep: 1 } })),
      "spec.engine.concurrency",
      /pipeline parallelism runs open-loop arrivals or a concurrency limit/,
    ],
    [
      "TP not dividing the heads",
      () => resolveJob(datasetSpec(ds128, {}, { ...llama8bH100, parallelism: { tp: 3, pp: 1, ep: 1 } })),
      "spec.predictor.parallelism.tp",
    ],
    [
      "a model too large for the GPU",
      () => resolveJob(datasetSpec(ds128, {}, { model: { name: "llama-3.1-70b" }, gpu: { name: "h100_sxm" } })),
      "spec.predictor.parallelism.tp",
      /requires at least/,
    ],
    ["negative scale factor", () => resolveJob(datasetSpec(ds128, {}, { ...constant, prefillScaleFactor: -1 })), "spec.predictor.prefill_scale_factor"],
    [
      "output_tokens < 1 inline",
      () => resolveJob(spec({ workload: inline([...Array(3).fill({ inputLength: 4, outputTokens: 2 }), { inputLength: 4, outputTokens: 0 }]) })),
      "spec.workload.inline.requests[3].output_tokens",
    ],
    [
      "negative input length inline",
      () => resolveJob(spec({ workload: inline([{ inputLength: -5, outputTokens: 2 }]) })),
      "spec.workload.inline.requests[0].input_length",
    ],
    [
      "input_length disagreeing with input_ids",
      () => resolveJob(spec({ workload: inline([{ inputLength: 4, inputIds: [1, 2], outputTokens: 2 }]) })),
      "spec.workload.inline.requests[0].input_length",
    ],
    ["empty inline workload", () => resolveJob(spec({ workload: inline([]) })), "spec.workload.inline.requests", /empty/],
    ["no workload", () => resolveJob(spec({})), "spec.workload"],
    [
      "bad dataset line",
      () => resolveJob(datasetSpec(`${jsonl(uniform(1, 4, 4))}\n{"task_id":1,"input_ids":[1],"output_tokens":0}`)),
      "data.jsonl line 2",
      /output_tokens must be >= 1/,
    ],
    [
      "dataset line without a name",
      () => resolveJob(datasetSpec('{"task_id":1}', {}, {}, "")),
      "dataset line 1",
      /Both prompt and input_ids for 1 are both None/,
    ],
    ["empty dataset", () => resolveJob(datasetSpec("\n\n")), "data.jsonl", /empty/],
    ["over-size workload", () => resolveJob(datasetSpec(jsonl(uniform(5, 4, 4))), { limits: { maxRequests: 4 } }), "data.jsonl line 5", /more than 4 requests/],
    [
      "over-size inline tokens",
      () => resolveJob(spec({ workload: inline([{ inputLength: 100, outputTokens: 100 }]) }), { limits: { maxTotalTokens: 150 } }),
      "spec.workload.inline.requests",
      /exceed the limit/,
    ],
    [
      "synthetic without requests",
      () =>
        resolveJob(
          spec({
            workload: {
              synthetic: {
                distribution: Distribution.DISTRIBUTION_TOKEN_UNIF_DIST,
                numRequests: 0,
                inputMean: 0,
                inputStdev: 0,
                outputMean: 0,
                outputStdev: 0,
                inputMin: 1,
                inputMax: 2,
                outputMin: 1,
                outputMax: 2,
                seed: 0,
                vocabSize: 0,
              },
            },
          }),
        ),
      "spec.workload.synthetic.num_requests",
    ],
    [
      "synthetic min > max",
      () =>
        resolveJob(
          spec({
            workload: {
              synthetic: {
                distribution: Distribution.DISTRIBUTION_TOKEN_UNIF_DIST,
                numRequests: 2,
                inputMean: 0,
                inputStdev: 0,
                outputMean: 0,
                outputStdev: 0,
                inputMin: 5,
                inputMax: 2,
                outputMin: 1,
                outputMax: 2,
                seed: 0,
                vocabSize: 0,
              },
            },
          }),
        ),
      "spec.workload.synthetic.input_max",
    ],
    [
      "max_num_tokens below the longest prompt without chunking",
      () => resolveJob(datasetSpec(ds128, { maxNumTokens: 100, maxBatchSize: 4 }, constant)),
      "spec.engine.max_num_tokens",
      /longest prompt \(128 tokens\)/,
    ],
    ["max_seq_len below the longest request", () => resolveJob(datasetSpec(ds128, { maxSeqLen: 200 }, constant)), "spec.engine.max_seq_len"],
    [
      "a KV pool smaller than a prompt",
      () => resolveJob(datasetSpec(ds128, { kvNumBlocks: 4 }, constant)),
      "spec.engine.kv_num_blocks",
      /longest prompt \+ 1 \(129\)/,
    ],
    [
      "kv fraction out of range",
      () => resolveJob(datasetSpec(ds128, { kvCacheFreeGpuMemFraction: 1.5 }, constant)),
      "spec.engine.kv_cache_free_gpu_mem_fraction",
    ],
    ["max_batch_size 0", () => resolveJob(datasetSpec(ds128, { maxBatchSize: 0 }, constant)), "spec.engine.max_batch_size"],
    [
      "ramp-up with a request rate",
      () => resolveJob(datasetSpec(ds128, { requestRate: 1, rampUp: { strategy: RampUpStrategy.RAMP_UP_STRATEGY_LINEAR, startRps: 1, endRps: 2 } }, constant)),
      "spec.engine.request_rate",
      /cannot be combined with ramp_up/,
    ],
    [
      "ramp-up ending below its start",
      () => resolveJob(datasetSpec(ds128, { rampUp: { strategy: RampUpStrategy.RAMP_UP_STRATEGY_EXPONENTIAL, startRps: 4, endRps: 2 } }, constant)),
      "spec.engine.ramp_up.end_rps",
      /must be a finite number >= start_rps 4 \(got 2\)/,
    ],
    [
      "burstiness without a rate",
      () => resolveJob(datasetSpec(ds128, { burstiness: 0.5 }, constant)),
      "spec.engine.burstiness",
      /needs request_rate or ramp_up/,
    ],
    ["burstiness 0", () => resolveJob(datasetSpec(ds128, { requestRate: 1, burstiness: 0 }, constant)), "spec.engine.burstiness", /must be a number > 0/],
    [
      "trace speed-up without replay",
      () => resolveJob(datasetSpec(ds128, { traceSpeedup: 2 }, constant)),
      "spec.engine.trace_speedup",
      /needs replay_timestamps/,
    ],
    [
      "replaying a dataset without timestamps",
      () => resolveJob(datasetSpec(ds128, { replayTimestamps: true }, constant)),
      "spec.engine.replay_timestamps",
      /no timestamps/,
    ],
    ["negative request rate", () => resolveJob(datasetSpec(ds128, { requestRate: -1 }, constant)), "spec.engine.request_rate"],
    ["unknown scheduler policy", () => resolveJob(datasetSpec(ds128, { schedulerPolicy: 9 as SchedulerPolicy }, constant)), "spec.engine.scheduler_policy"],
    ["warm-up above the limit", () => resolveJob(datasetSpec(ds128, { warmup: 11 }, constant), { limits: { maxWarmup: 10 } }), "spec.engine.warmup"],
  ];
  for (const [what, run, field, reason] of cases) {
    it(what, async () => {
      const err = await invalid(run());
      expect(err.field).toBe(field);
      if (reason) expect(err.reason).toMatch(reason);
    });
  }

  it("with chunked context a prompt longer than max_num_tokens is accepted", async () => {
    const job = await resolveJob(datasetSpec(ds128, { maxNumTokens: 64, maxBatchSize: 4, enableChunkedContext: true }, constant));
    expect(job.engine.chunking).toBe("first_come_first_served");
  });
});

describe("prompts longer than the model's context", () => {
  const tiny = { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, model: { name: "tinyllama" } };
  it("are rejected with the line (dataset), the field (inline) or the request (synthetic), and the limit", async () => {
    const text = `${jsonl([{ isl: 2048, osl: 4 }])}\n\n${jsonl([{ isl: 2049, osl: 4 }])}`;
    const d = await invalid(resolveJob(datasetSpec(text, {}, tiny)));
    expect(d.message).toBe("data.jsonl line 3: a prompt of 2049 tokens is longer than the model's context (max_position_embeddings 2048)");
    const i = await invalid(resolveJob(spec({ predictor: tiny, workload: inline([{ inputLength: 3000, outputTokens: 2 }]) })));
    expect(i.message).toBe(
      "spec.workload.inline.requests[0].input_length: a prompt of 3000 tokens is longer than the model's context (max_position_embeddings 2048)",
    );
    const s = await invalid(
      resolveJob(
        spec({
          predictor: tiny,
          workload: {
            synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_UNIF_DIST, numRequests: 50, inputMin: 1000, inputMax: 3000, outputMin: 1, outputMax: 2 },
          },
        }),
      ),
    );
    expect(s.message).toMatch(
      /^spec\.workload\.synthetic\.input_max: request \d+: a prompt of \d+ tokens is longer than the model's context \(max_position_embeddings 2048\)$/,
    );
  });

  it("a prompt of exactly the context length is fine", async () => {
    expect((await resolveJob(datasetSpec(jsonl([{ isl: 2048, osl: 4 }]), {}, tiny))).requests[0]!.inputLength).toBe(2048);
  });
});

describe("synthetic means below one token", () => {
  it("are rejected (the generator would silently make 1-token requests)", async () => {
    const e = await invalid(
      resolveJob(
        spec({
          predictor: constant,
          workload: { synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests: 4, inputMean: -100, outputMean: 8 } },
        }),
      ),
    );
    expect(e.message).toBe("spec.workload.synthetic.input_mean: must be a number >= 1 (got -100)");
  });
});

describe("synthetic shared prefixes", () => {
  it("prompts are prefix + own ids; a group's prompts share the prefix's blocks", async () => {
    const job = await resolveJob(
      spec({
        predictor: constant,
        engine: { tokensPerBlock: 16 },
        workload: {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
            numRequests: 4,
            inputMean: 20,
            outputMean: 2,
            randomPrefixLen: 64,
            numPrefixGroups: 2,
          },
        },
      }),
    );
    expect(job.requests.map((r) => r.inputLength)).toEqual([84, 84, 84, 84]);
    const keys = job.requests.map((r) => Array.from(r.blocks!.keys));
    // 64 prefix tokens = 4 full blocks shared within a group (requests 0, 2 and 1, 3), not across groups.
    expect(keys[2]!.slice(0, 4)).toEqual(keys[0]!.slice(0, 4));
    expect(keys[3]!.slice(0, 4)).toEqual(keys[1]!.slice(0, 4));
    expect(keys[1]![0]).not.toBe(keys[0]![0]);
    expect(keys[2]![4]).not.toBe(keys[0]![4]);
    const bad = await invalid(
      resolveJob(
        spec({
          predictor: constant,
          workload: {
            synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests: 4, inputMean: 20, outputMean: 2, numPrefixGroups: 3 },
          },
        }),
      ),
    );
    expect(bad.message).toBe("spec.workload.synthetic.num_prefix_groups: needs prefixLen > 0 (groups of what?)");
  });
});
