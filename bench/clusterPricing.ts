/**
 * Case R: a cluster job priced by the predictor service in another process, the instances' batches priced
 * one group at a time (sequential) and concurrently (pipelined, docs/cluster.md "Pricing"), in the same
 * run. Every prediction call is counted with the calls outstanding when it was made, and the cluster counts
 * the round trips on its critical path (ClusterResult.pricing.rounds).
 */
import type { BatchPredictor } from "@servesim/core";
import { RemotePredictor, resolveJob, runJob } from "@servesim/runner";
import type { JobSpec } from "@servesim/wire/scheduler";
import { benchSpec } from "./cases.js";
import { collectGarbage, type Sample, timed } from "./measure.js";

/** Llama-3.1-8B fp8 on H100 (case A's engine), ISL ~N(512, 128) / OSL ~N(256, 64), 4,000 requests. */
function base(name: string, requestRate: number): JobSpec {
  const s = benchSpec(name, { numRequests: 4_000, isl: 512, osl: 256, requestRate });
  s.workload!.synthetic!.inputStdev = 128;
  s.workload!.synthetic!.outputStdev = 64;
  return s;
}

export const CLUSTER_PRICING_SHAPES = {
  /** 8 instances behind least_loaded, every request at t = 0. */
  aggAll: () => {
    const s = base("bench R aggAll", 0);
    s.cluster = { aggregated: [{ numWorkers: 8 }], router: { type: "least_loaded", weights: {} } };
    return s;
  },
  /** 8 instances behind least_loaded, Poisson 100 req/s. */
  aggPoisson: () => {
    const s = base("bench R aggPoisson", 100);
    s.cluster = { aggregated: [{ numWorkers: 8 }], router: { type: "least_loaded", weights: {} } };
    return s;
  },
  /** 2 prefill + 6 decode workers, Poisson 100 req/s. */
  disagg: () => {
    const s = base("bench R disagg", 100);
    s.cluster = {
      aggregated: [],
      prefill: { numWorkers: 2, maxBatchSize: 16 },
      decode: { numWorkers: 6, maxNumTokens: 512, router: { type: "least_loaded", weights: {} } },
    };
    return s;
  },
} as const;

interface Calls {
  calls: number;
  outstanding: number;
  /** Σ over calls of the calls outstanding right after it was made. */
  inFlightSum: number;
}

function counted(p: BatchPredictor, c: Calls): BatchPredictor {
  const track = <T>(v: T | Promise<T>): Promise<T> => {
    c.calls++;
    c.outstanding++;
    c.inFlightSum += c.outstanding;
    return Promise.resolve(v).finally(() => {
      c.outstanding--;
    });
  };
  const run = p.predictDecodeRun?.bind(p);
  return {
    description: p.description,
    ...(p.maxInFlight !== undefined ? { maxInFlight: p.maxInFlight } : {}),
    predict: (b) => track(p.predict(b)),
    ...(run ? { predictDecodeRun: (past: ArrayLike<number>, count: number, steps: number) => track(run(past, count, steps)) } : {}),
    close: () => p.close?.(),
  };
}

/** One repetition: each shape sequential and pipelined; `<shape>SeqMs`, `<shape>PipeMs`, calls and mean calls in flight. */
export async function clusterPricingSample(address: string, rep: number): Promise<Sample> {
  const sample: Sample = {};
  for (const [name, spec] of Object.entries(CLUSTER_PRICING_SHAPES)) {
    const job = await resolveJob(spec());
    let records = "";
    // The order alternates between repetitions, so a drifting machine load favours neither mode.
    for (const mode of rep % 2 === 0 ? (["Seq", "Pipe"] as const) : (["Pipe", "Seq"] as const)) {
      const c: Calls = { calls: 0, outstanding: 0, inFlightSum: 0 };
      collectGarbage();
      const run = await timed(() =>
        runJob(job, async (config) => counted(await RemotePredictor.connect({ address, config }), c), { pipelinedCluster: mode === "Pipe" }),
      );
      sample[`${name}${mode}Ms`] = run.ms;
      sample[`${name}${mode}Calls`] = c.calls;
      sample[`${name}${mode}InFlight`] = c.inFlightSum / c.calls;
      sample[`${name}Iterations`] = run.value.result.numIterations;
      sample[`${name}${mode}Rounds`] = run.value.cluster!.pricing.rounds;
      if (mode === "Pipe") sample[`${name}AheadIterations`] = run.value.cluster!.pricing.aheadIterations;
      if (sample[`${name}SeqMs`] !== undefined && sample[`${name}PipeMs`] !== undefined)
        sample[`${name}Ratio`] = sample[`${name}SeqMs`]! / sample[`${name}PipeMs`]!;
      // The two modes must agree exactly (a cheap check of what the tests assert).
      const text = JSON.stringify(run.value.records.map((r) => [r.startMs, r.endMs, r.ttftMs]));
      if (records === "") records = text;
      else if (text !== records) throw new Error(`case R ${name}: pipelined records differ from the sequential ones`);
    }
  }
  return sample;
}
