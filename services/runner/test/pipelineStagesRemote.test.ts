import type { BatchPredictor } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import { startPredictor, type TestPredictor } from "@servesim/testkit";
import { DType, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobOutcome, RemotePredictor, readStageTimes, resolveJob, runResolvedJob } from "../src/index.js";
import { inline, spec } from "./helpers.js";

// A pipeline-parallel job prices every micro-batch with its stage times (BatchPredictor.predictStages): the
// embedded predictor and the predictor service (stage_ms on the answers) must give the same records.

/** DeepSeek-R1: 61 layers, divisible by neither 2 nor 3 (Mapping.pp_layers: 31/30, 21/20/20). */
const r1 = (pp: number): Partial<PredictorConfig> => ({
  kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
  model: { name: "deepseek-ai/DeepSeek-R1" },
  gpu: { name: "b200_sxm" },
  parallelism: { tp: 8, pp, ep: 8 },
  weightDtype: DType.D_TYPE_NVFP4,
  kvCacheDtype: DType.D_TYPE_FP8,
});

const work = inline(Array.from({ length: 24 }, (_, i) => ({ taskId: i, inputLength: 64 + ((i * 37) % 300), outputTokens: 4 + ((i * 13) % 40) })));

/** Arrivals in time (the PipelineLoop on one clock) and all at once (the partitioned fast path, PipelineTiming). */
const ARRIVALS: Array<[string, Record<string, unknown>]> = [
  ["Poisson arrivals", { requestRate: 300, seed: 11 }],
  ["all at once", {}],
];

/** The same predictor without its stage times: the stages share every micro-batch's time equally. */
const equalShares = (p: BatchPredictor): BatchPredictor => ({ description: p.description, predict: (b) => p.predict(b) });

const tokens = (o: JobOutcome) => o.records.map((r) => [r.firstTokenMs, r.endMs, r.e2eMs]);

describe("pipeline stage times over the predictor service", () => {
  let server: TestPredictor;
  beforeAll(async () => {
    server = await startPredictor();
  });
  afterAll(async () => {
    await server.kill();
  });

  for (const pp of [2, 3]) {
    for (const [name, engine] of ARRIVALS) {
      it(`pp ${pp}, ${name}: the same records embedded and remote, and not those of equal shares`, async () => {
        const job = await resolveJob(spec({ engine: { warmup: 0, maxBatchSize: 4, ...engine }, predictor: r1(pp), workload: work }));
        expect(job.engine.ppSize).toBe(pp);
        const embedded = await createPredictor(job.predictor.config);
        // The layer split is uneven and the last stage runs the LM head: the stages' times differ.
        expect(embedded.pipelineStages).toBe(pp);
        const ms = new Float64Array(pp);
        await embedded.predictStages!({ numContext: 0, numGeneration: 2, inputLength: [1, 1], pastKvLength: [100, 200], numContextTokens: 0 }, ms);
        expect(new Set(ms).size).toBe(pp);
        const ref = await runResolvedJob(job, embedded, { collectIterations: true });
        expect(ref.records.every((r) => r.error === undefined)).toBe(true);
        const remote = await RemotePredictor.connect({ address: server.address, config: job.predictor.config, maxInFlight: 16 });
        expect(remote.pipelineStages).toBe(pp);
        try {
          const got = await runResolvedJob(job, remote, { collectIterations: true });
          expect(got.records).toEqual(ref.records);
          expect(got.iterations).toEqual(ref.iterations);
        } finally {
          await remote.close();
        }
        const equal = await runResolvedJob(job, equalShares(embedded));
        expect(tokens(equal)).not.toEqual(tokens(ref));
      });
    }
  }

  it("the service answers stage_ms for batches (pp values summing to the kernel time), none without pipeline parallelism", async () => {
    const job = await resolveJob(spec({ engine: { warmup: 0 }, predictor: r1(3), workload: work }));
    const embedded = await createPredictor(job.predictor.config);
    const remote = await RemotePredictor.connect({ address: server.address, config: job.predictor.config });
    try {
      const batch = { numContext: 1, numGeneration: 1, inputLength: [128, 1], pastKvLength: [0, 500], numContextTokens: 128 };
      const want = new Float64Array(3);
      const got = new Float64Array(3);
      const t = await embedded.predictStages!(batch, want);
      expect(await remote.predictStages(batch, got)).toBe(t);
      expect(Array.from(got)).toEqual(Array.from(want));
      await expect(remote.predictStages(batch, new Float64Array(2))).rejects.toThrow(/stageMs holds 2 stages; the predictor's pipeline has 3/);
    } finally {
      await remote.close();
    }
    const flat = await RemotePredictor.connect({
      address: server.address,
      config: (await resolveJob(spec({ engine: { warmup: 0 }, predictor: r1(1), workload: work }))).predictor.config,
    });
    expect(flat.pipelineStages).toBeUndefined();
    await flat.close();
  });

  it("checks an answer's stage times as hostile input", () => {
    const out = new Float64Array(3);
    expect(readStageTimes([1, 2, 3], out)).toBeUndefined();
    expect(Array.from(out)).toEqual([1, 2, 3]);
    expect(readStageTimes([], out)).toBeUndefined();
    expect(Array.from(out)).toEqual([0, 0, 0]);
    expect(readStageTimes([1, 2], out)?.message).toMatch(/2 stage times for a pipeline of 3 stages/);
    expect(readStageTimes([1, 2, 3, 4], out)?.message).toMatch(/4 stage times for a pipeline of 3 stages/);
    expect(readStageTimes([1, Number.NaN, 3], out)?.message).toMatch(/NaN ms for pipeline stage 1; stage times must be finite and >= 0/);
    expect(readStageTimes([1, 2, Number.POSITIVE_INFINITY], out)?.message).toMatch(/Infinity ms for pipeline stage 2/);
    expect(readStageTimes([-1, 2, 3], out)?.message).toMatch(/-1 ms for pipeline stage 0/);
  });
});
