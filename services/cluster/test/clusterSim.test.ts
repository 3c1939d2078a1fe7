import type { BatchPredictor, SimBatch, SimRequest } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { type ClusterEngine, ClusterSim, createRouter, resolveRouter } from "../src/index.js";
import { ToyLoop } from "./toyLoop.js";

/** 10 ms per iteration with a context request, 2 ms otherwise. */
const predictor: BatchPredictor = { description: "toy", predict: (b: SimBatch) => (b.numContext > 0 ? 10 : 2) };

const engine = (role: ClusterEngine["role"], index: number, loop: ToyLoop): ClusterEngine => ({
  name: `${role === "aggregated" ? "instance" : role}[${index}]`,
  role,
  pool: role,
  index,
  loop,
  predictor,
  tokensPerBlock: 16,
  gpus: 1,
});

const reqs = (n: number, isl = 32, osl = 4): SimRequest[] => Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: isl, outputTokens: osl }));
const allAtOnce = (n: number) => ({ order: Int32Array.from({ length: n }, (_, i) => i), submitMs: new Float64Array(n), initiallySubmitted: n, concurrency: 0 });
const rr = () => createRouter(resolveRouter("round_robin", {}, "router"), 16, 2);

describe("ClusterSim aggregated", () => {
  it("round-robins arrivals over two instances that share the clock", async () => {
    const engines = [engine("aggregated", 0, new ToyLoop(8, 100)), engine("aggregated", 1, new ToyLoop(8, 100))];
    const sim = new ClusterSim({ requests: reqs(4), plan: allAtOnce(4), aggregated: { role: "aggregated", engines, router: rr() } });
    const r = await sim.run();
    // Each instance: two requests; prefill 10 ms (first token), then 3 decode steps of 2 ms.
    expect(r.records.map((x) => [x.ttftMs, x.endMs])).toEqual([
      [10, 16],
      [10, 16],
      [10, 16],
      [10, 16],
    ]);
    expect(r.engines.map((e) => [e.name, e.requests, e.iterations, e.busyMs])).toEqual([
      ["instance[0]", 2, 4, 16],
      ["instance[1]", 2, 4, 16],
    ]);
    expect(Array.from(r.records[0]!.tokenTimesMs)).toEqual([10, 12, 14, 16]);
  });

  it("a concurrency limit applies to the whole cluster", async () => {
    const engines = [engine("aggregated", 0, new ToyLoop(8, 100)), engine("aggregated", 1, new ToyLoop(8, 100))];
    const plan = { order: Int32Array.from([0, 1, 2]), submitMs: new Float64Array(3), initiallySubmitted: 1, concurrency: 1 };
    const r = await new ClusterSim({ requests: reqs(3), plan, aggregated: { role: "aggregated", engines, router: rr() } }).run();
    expect(r.records.map((x) => [x.startMs, x.endMs])).toEqual([
      [0, 16],
      [16, 32],
      [32, 48],
    ]);
  });
});

describe("ClusterSim disaggregated", () => {
  const transfer = (latencyMs: number, bandwidth: number) => ({ bytesPerTokenPerRank: 1000, link: () => ({ kind: "rdma" as const, bandwidth, latencyMs }) });

  it("prefills on a prefill worker, transfers the KV, decodes on a decode worker", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    // 32 prompt tokens × 1000 B at 1e6 B/s = 32 ms, plus 1 ms.
    const r = await new ClusterSim({ requests: reqs(1), plan: allAtOnce(1), prefill, decode, transfer: transfer(1, 1e6) }).run();
    const x = r.records[0]!;
    expect(x.ttftMs).toBe(10);
    // Transfer 10 → 43, then three decode steps of 2 ms.
    expect(Array.from(x.tokenTimesMs)).toEqual([10, 45, 47, 49]);
    expect(x.tpotMs).toBe(13);
    expect(r.stages.transferMs[0]).toBe(33);
    expect(r.stages.decodeWaitMs[0]).toBe(0);
    expect(r.stages.decodeFirstStepMs[0]).toBe(2);
    expect(r.engines.map((e) => [e.name, e.requests, e.iterations])).toEqual([
      ["prefill[0]", 1, 1],
      ["decode[0]", 1, 3],
    ]);
  });

  it("transfers through one worker's link go one after another", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const r = await new ClusterSim({ requests: reqs(2), plan: allAtOnce(2), prefill, decode, transfer: transfer(1, 1e6) }).run();
    // Both prompts are prefilled by t = 10; each transfer puts 32 ms of bytes on the link, then 1 ms latency.
    expect(Array.from(r.stages.transferMs)).toEqual([33, 65]);
    expect(r.records.map((x) => Array.from(x.tokenTimesMs))).toEqual([
      [10, 45, 47, 49],
      [10, 77, 79, 81],
    ]);
  });

  it("decode admission waits for KV capacity on the decode worker", async () => {
    // Each sequence needs ceil((32 + 4) / 16) = 3 blocks; the decode worker holds 3: one at a time.
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 3))], router: rr() };
    const r = await new ClusterSim({ requests: reqs(2), plan: allAtOnce(2), prefill, decode, transfer: transfer(0, 0) }).run();
    expect(r.records.map((x) => [x.ttftMs, x.endMs])).toEqual([
      [10, 16],
      [10, 22],
    ]);
    expect(Array.from(r.stages.decodeWaitMs)).toEqual([0, 6]);
  });

  it("a full decode pool pushes back on prefill: arrivals wait while the prefill worker holds untransferred KV", async () => {
    // 31-token prompts: 2 blocks each, the prefill worker holds 4; a 35-token sequence needs 3 blocks,
    // the decode worker holds 3: one sequence at a time.
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 4))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 3))], router: rr() };
    const r = await new ClusterSim({ requests: reqs(4, 31), plan: allAtOnce(4), prefill, decode, transfer: transfer(0, 0) }).run();
    expect(r.numFailed).toBe(0);
    // Request 2 enters prefill when request 0's KV leaves (t = 10), request 3 when request 1's does (t = 16).
    expect(Array.from(r.stages.admitWaitMs)).toEqual([0, 0, 10, 16]);
    expect(r.records.map((x) => [x.ttftMs, x.endMs])).toEqual([
      [10, 16],
      [10, 22],
      [20, 28],
      [30, 36],
    ]);
    expect(Array.from(r.stages.decodeWaitMs)).toEqual([0, 6, 2, 0]);
  });

  it("the generation server's first emission, the context's token when it schedules the request, is the client's first token", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const flow = { firstToken: "generation" as const, frontendMs: 0, handoffMs: 0 };
    const r = await new ClusterSim({ requests: reqs(1), plan: allAtOnce(1), prefill, decode, transfer: transfer(1, 1e6), flow }).run();
    const x = r.records[0]!;
    // Prefill ends at 10, the transfer at 43: the idle decode worker schedules the request at once and sends
    // the context's token before its first decode step (ends at 45).
    expect(Array.from(x.tokenTimesMs)).toEqual([43, 45, 47, 49]);
    expect([x.ttftMs, x.endMs, x.tpotMs]).toEqual([43, 49, 2]);
  });

  it("frontend and hand-off costs delay the prefill and the generation request", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const flow = { firstToken: "generation" as const, frontendMs: 5, handoffMs: 3 };
    const r = await new ClusterSim({ requests: reqs(1), plan: allAtOnce(1), prefill, decode, transfer: transfer(1, 1e6), flow }).run();
    // Prefill 5 → 15, generation request at 18, transfer 18 → 51 (the context's token), first decode step 53.
    expect(Array.from(r.records[0]!.tokenTimesMs)).toEqual([51, 53, 55, 57]);
    expect(r.stages.admitWaitMs[0]).toBe(5);
    expect(r.stages.decodeWaitMs[0]).toBe(0);
    expect(r.stages.transferMs[0]).toBe(33);
  });

  it("a decode worker takes a generation request at its next iteration start", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(1, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const r = await new ClusterSim({ requests: reqs(3, 32, 8), plan: allAtOnce(3), prefill, decode, transfer: transfer(0, 1e9) }).run();
    // Prefills end at 10, 20, 30 (one at a time); transfers take 0.032 ms. Request 0 decodes from 10.032 in
    // 2 ms steps; request 1's prompt is done at 20, mid-step (18.032 → 20.032): its reception starts at 20.032.
    expect(r.stages.transferMs[1]).toBeCloseTo(0.064, 9);
  });

  it("a busy decode worker sends the context's token at its next iteration start after the transfer", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(1, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const flow = { firstToken: "generation" as const, frontendMs: 0, handoffMs: 0 };
    const r = await new ClusterSim({ requests: reqs(3, 32, 8), plan: allAtOnce(3), prefill, decode, transfer: transfer(0, 1e9), flow }).run();
    // Request 1's KV arrives at 20.064, mid-step (20.032 → 22.032): the decode worker schedules it at 22.032
    // and its first decode step ends at 24.032.
    const x = r.records[1]!;
    expect(x.ttftMs).toBeCloseTo(22.032, 9);
    expect(x.tokenTimesMs[1]).toBeCloseTo(24.032, 9);
  });

  it("fails a request whose sequence no decode worker can hold", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 2))], router: rr() };
    const r = await new ClusterSim({ requests: reqs(1), plan: allAtOnce(1), prefill, decode, transfer: transfer(0, 0) }).run();
    expect(r.numFailed).toBe(1);
    expect(r.records[0]!.error).toBe("its 36-token sequence needs more KV blocks than a decode worker has");
  });
});

describe("ClusterSim warm-up", () => {
  it("runs the warm-up requests first, then the measured run on a clock restarted at 0", async () => {
    const engines = [engine("aggregated", 0, new ToyLoop(8, 100))];
    const sim = new ClusterSim({ requests: reqs(2), warmup: reqs(1, 32, 2), plan: allAtOnce(2), aggregated: { role: "aggregated", engines, router: rr() } });
    const r = await sim.run();
    // Warm-up: prefill 0 → 10, one decode step → 12. Measured: both requests from 12 (clock 0).
    expect(r.records.map((x) => [x.startMs, x.ttftMs, x.endMs])).toEqual([
      [0, 10, 16],
      [0, 10, 16],
    ]);
    expect(Array.from(r.records[0]!.tokenTimesMs)).toEqual([10, 12, 14, 16]);
    expect(r.engines.map((e) => [e.requests, e.iterations, e.busyMs])).toEqual([[2, 4, 16]]);
    expect(r.numIterations).toBe(4);
    expect(r.simulatedMs).toBe(16);
  });

  it("warms a disaggregated cluster through both pools", async () => {
    const prefill = { role: "prefill" as const, engines: [engine("prefill", 0, new ToyLoop(8, 100))], router: rr() };
    const decode = { role: "decode" as const, engines: [engine("decode", 0, new ToyLoop(8, 100))], router: rr() };
    const r = await new ClusterSim({
      requests: reqs(1),
      warmup: reqs(2),
      plan: allAtOnce(1),
      prefill,
      decode,
      transfer: { bytesPerTokenPerRank: 0, link: () => ({ kind: "rdma" as const, bandwidth: 0, latencyMs: 0 }) },
    }).run();
    expect(Array.from(r.records[0]!.tokenTimesMs)).toEqual([10, 12, 14, 16]);
    expect(r.engines.map((e) => [e.name, e.requests, e.iterations])).toEqual([
      ["prefill[0]", 1, 1],
      ["decode[0]", 1, 3],
    ]);
  });
});

describe("ClusterSim with an asynchronous predictor", () => {
  /** Batch time from its shape (so a decode run's step i equals predict() of that step). */
  const shaped = (b: { numContext: number; numGeneration: number; pastKvLength: ArrayLike<number> }): number =>
    b.numContext > 0 ? 10 : 2 + 0.001 * Array.from({ length: b.numGeneration }, (_, k) => b.pastKvLength[k]!).reduce((s, x) => s + x, 0);
  const counting = () => {
    const calls = { predict: 0, runs: 0, steps: 0 };
    const p: BatchPredictor = {
      description: "async",
      maxInFlight: 8,
      predict: async (b) => {
        calls.predict++;
        return shaped(b);
      },
      predictDecodeRun: async (pastKv, count, steps) => {
        calls.runs++;
        calls.steps += steps;
        const base = Array.from({ length: count }, (_, k) => pastKv[k]!);
        return Array.from({ length: steps }, (_, i) => shaped({ numContext: 0, numGeneration: count, pastKvLength: base.map((x) => x + i) }));
      },
    };
    return { p, calls };
  };
  const syncShaped: BatchPredictor = { description: "sync", predict: shaped };
  const build = (p: BatchPredictor) => {
    const eng = (role: "prefill" | "decode", i: number): ClusterEngine => ({ ...engine(role, i, new ToyLoop(8, 100)), predictor: p });
    return new ClusterSim({
      requests: reqs(6, 31, 40),
      plan: allAtOnce(6),
      prefill: { role: "prefill", engines: [eng("prefill", 0)], router: rr() },
      decode: { role: "decode", engines: [eng("decode", 0), eng("decode", 1)], router: rr() },
      transfer: { bytesPerTokenPerRank: 0, link: () => ({ kind: "rdma" as const, bandwidth: 0, latencyMs: 0.5 }) },
    });
  };

  it("prices decode steps ahead in runs and gives exactly the results of pricing every batch", async () => {
    const sync = await build(syncShaped).run();
    const { p, calls } = counting();
    const pipelined = await build(p).run();
    expect(pipelined.records.map((r) => Array.from(r.tokenTimesMs))).toEqual(sync.records.map((r) => Array.from(r.tokenTimesMs)));
    expect(pipelined.numIterations).toBe(sync.numIterations);
    // Every decode iteration came from a run; far fewer calls than iterations.
    const decodeIterations = pipelined.engines.filter((e) => e.role === "decode").reduce((s, e) => s + e.iterations, 0);
    // The one prefill iteration (all six prompts fit one batch) is priced with predict().
    expect(calls.predict).toBe(1);
    // 78 decode iterations (two workers × 39 steps) from 8 runs of 4, 8, 16, 32 steps each, 120 steps priced.
    expect(decodeIterations).toBe(78);
    expect(calls.runs).toBe(8);
    expect(calls.steps).toBe(120);
  });
});

describe("ClusterSim running ahead", () => {
  /** Answers later, like a remote predictor; 2 ms per decode batch plus 1 ms per context request. */
  const later = (onCall?: () => void): BatchPredictor => ({
    description: "async toy",
    maxInFlight: 4,
    predict: (b: SimBatch) => {
      onCall?.();
      return new Promise<number>((resolve) => queueMicrotask(() => resolve(price(b))));
    },
  });
  const price = (b: SimBatch) => 2 + b.numContext;
  const cluster = (p: BatchPredictor, n: number) => {
    const engines = [0, 1, 2].map((k) => ({ ...engine("aggregated", k, new ToyLoop(4, 1000)), predictor: p }));
    const requests = Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: 32, outputTokens: 5 + ((i * 7) % 23) }));
    const submitMs = Float64Array.from({ length: n }, (_, i) => 3 * i);
    const plan = { order: Int32Array.from({ length: n }, (_, i) => i), submitMs, initiallySubmitted: n, concurrency: 0 };
    return new ClusterSim({
      requests,
      plan,
      aggregated: { role: "aggregated", engines, router: createRouter(resolveRouter("least_loaded", {}, "router"), 16, 3) },
    });
  };

  it("gives the sequential walk's records, and counts what it ran ahead", async () => {
    const ref = await cluster({ description: "sync toy", predict: price }, 60).run();
    const seq = await cluster(later(), 60).run({ pipelined: false });
    const ahead = await cluster(later(), 60).run();
    expect(seq.records).toEqual(ref.records);
    expect(ahead.records).toEqual(ref.records);
    expect(ahead.engines).toEqual(ref.engines);
    expect(seq.pricing.aheadPhases).toBe(0);
    expect(ahead.pricing.aheadPhases).toBeGreaterThan(0);
    expect(ahead.pricing.aheadIterations).toBe(ahead.numIterations);
    expect(ahead.pricing.peakInFlight).toBeLessThanOrEqual(3);
  });

  it("a cancellation while instances run ahead stops the run", async () => {
    const ac = new AbortController();
    let calls = 0;
    const p = later(() => {
      if (++calls === 40) ac.abort("stop");
    });
    await expect(cluster(p, 200).run({ signal: ac.signal })).rejects.toThrow("simulation cancelled: stop");
  });
});
