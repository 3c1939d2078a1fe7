/**
 * The remote fast path (decode runs as DecodeRun messages, batches pipelined on one PredictStream while
 * the batch sequence does not depend on the clock) gives exactly the plain path's records and iteration
 * log: every iteration priced by the embedded predictor, and every iteration sent and awaited in turn.
 */

import type { BatchPredictor } from "@servesim/core";
import type { IterationStats, SimulationResult } from "@servesim/engine";
import { runSimulation, runSimulationSync, Simulation } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { RemotePredictor, type ResolvedJob, resolveJob } from "@servesim/runner";
import { iterationToWire, requestToWire } from "@servesim/wire";
import { ChunkingPolicy, type EngineConfig, SchedulerPolicy, type Workload } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { jobSpec, predictorAndScheduler } from "./harness.js";

/** Requests of three families sharing a prompt prefix (block reuse has something to find). */
function sharedPrefixWorkload(n: number): Workload {
  return {
    inline: {
      requests: Array.from({ length: n }, (_, i) => {
        const isl = 40 + ((i * 53) % 160);
        const family = i % 3;
        return {
          taskId: i,
          inputLength: isl,
          outputTokens: 3 + ((i * 29) % 70),
          inputIds: Array.from({ length: isl }, (_, k) => (k < 32 ? 1000 * family + k : 50_000 + i * 300 + k)),
        };
      }),
    },
  };
}

interface Run {
  requests: unknown[];
  iterations: unknown[];
}

function wire(result: SimulationResult, iterations: IterationStats[]): Run {
  return { requests: result.requests.map(requestToWire), iterations: iterations.map(iterationToWire) };
}

function simulation(job: ResolvedJob, iterations: IterationStats[]): Simulation {
  return new Simulation(job.engine, job.requests, {
    ...(job.warmup.length > 0 ? { warmup: job.warmup } : {}),
    onIteration: (s) => iterations.push(s),
  });
}

/** The plain path, embedded: every iteration priced with predict(). */
async function embeddedPlain(job: ResolvedJob): Promise<Run> {
  const iterations: IterationStats[] = [];
  const predictor = await createPredictor(job.predictor.config);
  return wire(runSimulationSync(simulation(job, iterations), predictor, { decodeRuns: false }), iterations);
}

/** Against the predictor service, with the given run options. */
async function remote(job: ResolvedJob, address: string, opts: { decodeRuns: boolean; maxInFlight: number }): Promise<Run & { predictor: BatchPredictor }> {
  const iterations: IterationStats[] = [];
  const predictor = await RemotePredictor.connect({ address, config: job.predictor.config, maxInFlight: opts.maxInFlight });
  try {
    const result = await runSimulation(simulation(job, iterations), predictor, opts);
    return { ...wire(result, iterations), predictor };
  } finally {
    await predictor.close();
  }
}

const CASES: Array<[string, Partial<EngineConfig>]> = [
  ["all at once, GUARANTEED_NO_EVICT, chunked", { enableChunkedContext: true, maxNumTokens: 256 }],
  ["all at once, MAX_UTILIZATION, tight KV pool", { schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION, kvNumBlocks: 40, tokensPerBlock: 16 }],
  ["all at once, STATIC_BATCH, reuse off", { schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_STATIC_BATCH, enableBlockReuse: false }],
  [
    "concurrency 6, equal-progress chunking, tight pool",
    {
      concurrency: 6,
      enableChunkedContext: true,
      chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_EQUAL_PROGRESS,
      maxNumTokens: 128,
      kvNumBlocks: 60,
      tokensPerBlock: 16,
    },
  ],
  ["Poisson 200 req/s (time-dependent: ping-pong)", { requestRate: 200, seed: 3 }],
  [
    "Poisson 50 req/s, MAX_UTILIZATION",
    { requestRate: 50, seed: 9, schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION, kvNumBlocks: 50, tokensPerBlock: 16 },
  ],
];

describe("remote fast path vs plain path (records and iteration log identical)", () => {
  const servers = predictorAndScheduler();

  for (const [name, engine] of CASES) {
    it(name, async () => {
      const spec = jobSpec({
        name,
        engine: { maxBatchSize: 8, warmup: 2, ...engine },
        predictor: { model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" } },
        workload: sharedPrefixWorkload(36),
      });
      const job = await resolveJob(spec);
      const plain = await embeddedPlain(job);
      const pingPong = await remote(job, servers.predictor.address, { decodeRuns: false, maxInFlight: 1 });
      const fast = await remote(job, servers.predictor.address, { decodeRuns: true, maxInFlight: 64 });
      expect(pingPong.requests).toEqual(plain.requests);
      expect(pingPong.iterations).toEqual(plain.iterations);
      expect(fast.requests).toEqual(plain.requests);
      expect(fast.iterations).toEqual(plain.iterations);

      // The scheduler service's own path (RemoteExecutor → runResolvedJob with the defaults).
      const submitted = await servers.scheduler.client.submitJob(spec);
      for await (const _ of servers.scheduler.client.watchJob(submitted.id, { minIntervalMs: 1 })) void _;
      const out = await servers.scheduler.client.getResult(submitted.id, { includeRequests: true, includeIterations: true });
      expect(out.requests).toEqual(plain.requests);
      expect(out.iterations).toEqual(plain.iterations);
    });
  }

  it("the fast path sends far fewer messages: decode runs and pipelining are used", async () => {
    const spec = jobSpec({
      name: "messages",
      engine: { maxBatchSize: 8, warmup: 0, enableChunkedContext: true, maxNumTokens: 256, disableOverlapScheduler: true },
      predictor: { model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" } },
      workload: sharedPrefixWorkload(36),
    });
    const job = await resolveJob(spec);
    const answered = (): number[] => servers.predictor.logs.filter((l) => l["msg"] === "stream closed").map((l) => Number(l["answered"]));
    const before = answered().length;
    const plain = await remote(job, servers.predictor.address, { decodeRuns: false, maxInFlight: 1 });
    const fast = await remote(job, servers.predictor.address, { decodeRuns: true, maxInFlight: 64 });
    expect(fast.requests).toEqual(plain.requests);
    const [plainMessages, fastMessages] = answered().slice(before);
    expect(plainMessages).toBe(plain.iterations.length);
    expect(fastMessages).toBeLessThan(plainMessages! / 2);
  });
});
