import { createPredictor } from "@servesim/perf";
import { asyncPredictor, startPredictor, type TestPredictor } from "@servesim/testkit";
import type { JobSpec } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobOutcome, RemotePredictor, resolveJob, runJob } from "../src/index.js";
import { datasetSpec, llama8bH100 } from "./helpers.js";

// Pipelined cluster pricing (docs/cluster.md "Pricing") must give the sequential walk's results exactly:
// records, iteration log (and its order), cluster report.

type Config = Parameters<typeof createPredictor>[0];
const sequential = (config: Config) => createPredictor(config);
const asyncEmbedded = async (config: Config) => asyncPredictor(await createPredictor(config), 16, true);

/** Requests with varied lengths (a fixed LCG) sharing a few prompt prefixes, so instances drift apart in time. */
function dataset(n: number): string {
  let x = 12345;
  const rnd = (lo: number, hi: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return lo + (x % (hi - lo + 1));
  };
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const isl = rnd(40, 400);
    const prefix = i % 3;
    const ids = Array.from({ length: isl }, (_, j) => (j < 32 ? prefix * 100 + j : (i * 7919 + j) % 32000));
    rows.push(JSON.stringify({ task_id: i, input_ids: ids, output_tokens: rnd(2, 60) }));
  }
  return rows.join("\n");
}

const base = { maxBatchSize: 8, maxNumTokens: 2048, kvNumBlocks: 400, warmup: 0 };

function aggregated(router: string, engine: Record<string, unknown>): JobSpec {
  const s = datasetSpec(dataset(120), { ...base, ...engine }, llama8bH100);
  s.cluster = { aggregated: [{ numWorkers: 3 }, { numWorkers: 2, maxBatchSize: 4 }], router: { type: router, weights: {} } };
  return s;
}

function disaggregated(engine: Record<string, unknown>): JobSpec {
  const s = datasetSpec(dataset(80), { ...base, ...engine }, llama8bH100);
  s.cluster = {
    aggregated: [],
    prefill: { numWorkers: 2, maxBatchSize: 2 },
    decode: { numWorkers: 3, maxNumTokens: 64 },
    kvTransfer: { bandwidthBytesPerS: 5e10, latencyMs: 0.02 },
  };
  return s;
}

const CASES: Array<[string, () => JobSpec, boolean]> = [
  ["aggregated round_robin, all at once", () => aggregated("round_robin", {}), true],
  ["aggregated least_loaded, Poisson arrivals", () => aggregated("least_loaded", { requestRate: 400, seed: 7 }), true],
  ["aggregated kv_aware, closed loop with warm-up", () => aggregated("kv_aware", { concurrency: 24, warmup: 10 }), true],
  [
    "aggregated round_robin, pipeline-parallel instances next to plain ones, Poisson arrivals",
    () => {
      const s = aggregated("round_robin", { requestRate: 400, seed: 3 });
      s.cluster!.aggregated = [{ numWorkers: 2, parallelism: { tp: 1, pp: 2, ep: 1 } }, { numWorkers: 2 }];
      return s;
    },
    true,
  ],
  ["disaggregated, Poisson arrivals", () => disaggregated({ requestRate: 300, seed: 5 }), false],
];

async function outcome(spec: JobSpec, connect: (c: Config) => Promise<unknown>, pipelinedCluster = true): Promise<JobOutcome> {
  const job = await resolveJob(spec);
  return runJob(job, connect as Parameters<typeof runJob>[1], { collectIterations: true, pipelinedCluster });
}

function expectSame(a: JobOutcome, b: JobOutcome): void {
  expect(b.records).toEqual(a.records);
  expect(b.iterations).toEqual(a.iterations);
  expect(b.reportJson["cluster"]).toEqual(a.reportJson["cluster"]);
  expect(b.cluster!.numIterations).toBe(a.cluster!.numIterations);
}

describe("pipelined cluster pricing gives the sequential results exactly", () => {
  let server: TestPredictor;
  beforeAll(async () => {
    server = await startPredictor();
  });
  afterAll(async () => {
    await server.kill();
  });

  for (const [name, spec, runsAhead] of CASES) {
    it(name, async () => {
      const ref = await outcome(spec(), sequential);
      expect(ref.records.every((r) => r.error === undefined)).toBe(true);
      expect(ref.cluster!.pricing.aheadPhases).toBe(0);
      // Embedded asynchronous predictor: group by group (decode runs prefetched), then running ahead.
      const grouped = await outcome(spec(), asyncEmbedded, false);
      expectSame(ref, grouped);
      expect(grouped.cluster!.pricing.aheadPhases).toBe(0);
      const ahead = await outcome(spec(), asyncEmbedded);
      expectSame(ref, ahead);
      // Over a real predictor service on loopback.
      const remote = await outcome(spec(), (config) => RemotePredictor.connect({ address: server.address, config, maxInFlight: 16 }));
      expectSame(ref, remote);
      for (const p of [ahead.cluster!.pricing, remote.cluster!.pricing]) {
        if (runsAhead) {
          expect(p.aheadPhases).toBeGreaterThan(0);
          expect(p.aheadIterations).toBeGreaterThan(0);
          expect(p.peakInFlight).toBeGreaterThan(1);
          expect(p.peakInFlight).toBeLessThanOrEqual(16);
          expect(p.rounds).toBeLessThan(ref.cluster!.pricing.rounds === 0 ? grouped.cluster!.pricing.rounds : ref.cluster!.pricing.rounds);
        } else expect(p.aheadPhases).toBe(0);
      }
    });
  }

  it("keeps at most a predictor's maxInFlight predictions outstanding", async () => {
    const spec = () => {
      const s = aggregated("round_robin", {});
      s.cluster!.aggregated = [{ numWorkers: 6 }];
      return s;
    };
    const ref = await outcome(spec(), sequential);
    const job = await resolveJob(spec());
    const limited = asyncPredictor(await createPredictor(job.predictor.config), 3, true);
    const o = await runJob(job, () => Promise.resolve(limited), { collectIterations: true });
    expectSame(ref, o);
    expect(o.cluster!.pricing.peakInFlight).toBe(3);
    expect(limited.maxOutstanding).toBe(3);
  });
});
