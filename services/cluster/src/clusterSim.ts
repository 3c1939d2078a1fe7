import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { BatchPredictor, IterationStats, RequestRecord, SimBatch, SimRequest } from "@servesim/core";
import { CancelledError, FailedPreconditionError, failedRequestRecord } from "@servesim/core";
import { type EngineLoop, type LoopEvents, priceOn, type RequestDoneEvent } from "@servesim/engine";
import { DecodeRunPrefetch } from "./decodeRunPrefetch.js";
import { EventHeap } from "./eventHeap.js";
import { type KvLink, kvTransferMs } from "./kvTransfer.js";
import { PricingGate } from "./pricingGate.js";
import type { InstanceLoad, Router, RoutingTarget } from "./routers/router.js";

export type PoolRole = "aggregated" | "prefill" | "decode";

/** One engine instance of a cluster: its loop, its predictor and what the cluster needs to know of it. */
export interface ClusterEngine {
  /** "instance[2]", "prefill[0]", "decode[7]" (the iteration log and the report name engines so). */
  name: string;
  role: PoolRole;
  /** The pool's label (reports group instances by it). */
  pool: string;
  /** Index in its pool. */
  index: number;
  /** The cluster calls takeEnded() when schedule() returns null and at the end (requests that ended outside a commit). */
  loop: EngineLoop;
  predictor: BatchPredictor;
  tokensPerBlock: number;
  /** GPUs of the instance (tp × pp). */
  gpus: number;
  /**
   * Decode workers: requests it takes at once (max_batch_size). A transfer starts only when the worker
   * has a slot and KV for the request, as a generation server schedules a request's KV reception.
   */
  maxActive?: number;
  /** Price decode-only batches ahead in runs with an asynchronous predictor (default true). */
  decodeRuns?: boolean;
}

export interface ClusterPool {
  role: PoolRole;
  engines: ClusterEngine[];
  router: Router;
}

/** When the measured requests arrive (the engine's arrival plan, applied to the whole cluster). */
export interface ClusterArrivalPlan {
  /** Dataset indices in submission order. */
  order: Int32Array;
  /** Submit times by dataset index (the first `initiallySubmitted` under a concurrency limit). */
  submitMs: Float64Array;
  initiallySubmitted: number;
  /** > 0: a closed loop; the next request arrives when one finishes (anywhere in the cluster). */
  concurrency: number;
}

export interface KvTransferModel {
  /** KV bytes one decode rank receives per prompt token. */
  bytesPerTokenPerRank: number;
  /** The link from prefill worker p to decode worker d. */
  link(p: number, d: number): KvLink;
}

export interface ClusterSimInit {
  requests: readonly SimRequest[];
  /**
   * Warm-up requests (trtllm-bench --warmup): all arrive at t = 0 into the empty cluster and run to the
   * end; then the measured run starts, its clock at 0, with the engines' KV pools (prefix caches) and the
   * routers' state kept. They get no records, stats or iteration records.
   */
  warmup?: readonly SimRequest[];
  plan: ClusterArrivalPlan;
  /** Aggregated serving: one pool of instances that serve whole requests. */
  aggregated?: ClusterPool;
  /** Disaggregated serving: both pools and the transfer model. */
  prefill?: ClusterPool;
  decode?: ClusterPool;
  transfer?: KvTransferModel;
  /** The disaggregated request flow outside the engines (default: DEFAULT_DISAGG_FLOW). */
  flow?: DisaggFlow;
  onIteration?: (engine: ClusterEngine, s: IterationStats) => void;
}

/**
 * How a request travels between the workers of a cluster, outside the engines' iterations.
 *
 * `firstToken`: where the client's first token comes from. TensorRT-LLM's disaggregated server
 * (`tensorrt_llm/serve/openai_disagg_server.py`) and Dynamo's frontend send the context request without
 * streaming, then stream the generation server's response to the client: the first token reaches the
 * client with the decode worker's first emission ("generation"), the context's token, which the generation
 * server sends when it first schedules the request. "context": the client sees it when the prefill
 * iteration ends (a frontend that streams the context response).
 *
 * `frontendMs`: arrival → the request reaches a worker (HTTP, tokenization, routing in the frontend).
 * `handoffMs`: prefill done → the generation request reaches the decode side (the context response back
 * to the disaggregated server, the generation request out).
 */
export interface DisaggFlow {
  firstToken: "context" | "generation";
  frontendMs: number;
  handoffMs: number;
}

export const DEFAULT_DISAGG_FLOW: DisaggFlow = { firstToken: "context", frontendMs: 0, handoffMs: 0 };

export interface ClusterRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: { requestsFinished: number; requestsTotal: number; simTimeMs: number; iterations: number; warmingUp: boolean }) => void;
  progressEveryMs?: number;
  yieldEveryMs?: number;
  /**
   * Price the batches of independent instances concurrently (default true): see ClusterSim.runAhead.
   * The results are the same either way; false prices one group of instances at a time.
   */
  pipelined?: boolean;
  /** Predictions the job keeps outstanding at most, over all its predictors (default 64). */
  maxInFlight?: number;
}

/** How the cluster's batches were priced. */
export interface PricingStats {
  /** Stretches between two arrivals in which the instances ran ahead independently. */
  aheadPhases: number;
  /** Iterations scheduled and priced in those stretches. */
  aheadIterations: number;
  /** Most predictions outstanding at once. */
  peakInFlight: number;
  /**
   * Round trips on the critical path: waits of the walk for a group's predictions, plus, per stretch run
   * ahead, the most predictions one instance waited for in it (the instances wait side by side).
   */
  rounds: number;
}

/** What one engine did over the run. */
export interface EngineStats {
  name: string;
  role: PoolRole;
  pool: string;
  gpus: number;
  iterations: number;
  prefillIterations: number;
  decodeIterations: number;
  mixedIterations: number;
  /** Σ iteration wall time. */
  busyMs: number;
  /** Requests handed to this engine. */
  requests: number;
  /** Prompt / generated tokens this engine computed. */
  contextTokens: number;
  generatedTokens: number;
  /** Highest number of requests active at once, and of KV blocks used, seen at iteration ends. */
  peakActive: number;
  peakKvBlocks: number;
  kvTotalBlocks: number;
}

/** Per-request times of the cluster's stages (NaN where a stage did not happen). */
export interface RequestStages {
  /** Arrival → handed to a prefill worker (disaggregated: waits while every prefill worker is full). */
  admitWaitMs: Float64Array;
  /** Prefill done (first token) → KV transfer start: waiting for KV capacity on a decode worker. */
  decodeWaitMs: Float64Array;
  /** KV-transfer duration: waiting for the links, bytes / bandwidth, latency. */
  transferMs: Float64Array;
  /** Transfer end → second token (decode queueing and the first decode step). */
  decodeFirstStepMs: Float64Array;
  /** Engine index of the request in each pool (-1: none). */
  prefillEngine: Int32Array;
  decodeEngine: Int32Array;
}

export interface ClusterResult {
  records: RequestRecord[];
  engines: EngineStats[];
  stages: RequestStages;
  simulatedMs: number;
  numIterations: number;
  numFailed: number;
  pricing: PricingStats;
}

const EV_ARRIVAL = 0;
const EV_DONE = 1;
const EV_TRANSFER_END = 2;
const EV_ADMIT = 3;
const EV_HANDOFF = 4;
interface ClusterEvent {
  kind: number;
  /** Dataset index. */
  req: number;
  engine: number;
  done?: RequestDoneEvent;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

function checkedTime(v: unknown, e: ClusterEngine): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new FailedPreconditionError(
      `predictor "${e.predictor.description}" of ${e.name} returned ${String(v)} ms for a batch; batch times must be finite and > 0`,
    );
  }
  return v;
}

function cancelled(signal: AbortSignal): CancelledError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
  return new CancelledError(detail ? `simulation cancelled: ${detail}` : "simulation cancelled");
}

/**
 * Engine instances on one simulated clock. Every instance is an EngineLoop; the cluster owns the clock:
 * it takes the earliest of the next arrival, the next request completion or KV-transfer end and the
 * instances' next iteration starts, and runs that. Instances whose iterations start at the same instant
 * are scheduled together and their batches priced concurrently (a remote predictor pipelines them); with
 * an asynchronous predictor, decode steps are also priced ahead in runs (DecodeRunPrefetch).
 *
 * Aggregated: the router places each arrival on an instance, which serves it whole.
 *
 * Disaggregated (TensorRT-LLM's disaggregated serving, `tensorrt_llm/serve/openai_disagg_server.py`): an
 * arrival goes to a prefill (context) worker as a one-token request; its first token comes from there.
 * The prompt's KV cache then waits until a decode worker has room for the whole sequence (the decode
 * router chooses among those that do), moves there over the link (bytes / bandwidth + latency) and the
 * request decodes its remaining tokens. A prefill worker keeps the KV of finished prompts until their
 * transfer starts, so a full decode pool fills the prefill workers and new arrivals wait (backpressure).
 */
export class ClusterSim {
  private readonly reqs: readonly SimRequest[];
  private readonly plan: ClusterArrivalPlan;
  private readonly engines: ClusterEngine[];
  private readonly pools: { aggregated?: ClusterPool; prefill?: ClusterPool; decode?: ClusterPool };
  private readonly transfer: KvTransferModel | undefined;
  private readonly disagg: boolean;
  private readonly events = new EventHeap<ClusterEvent>();
  private readonly nextT: Float64Array;
  /** Per engine: dataset index by loop handle. */
  private readonly handles: number[][];
  private readonly stats: EngineStats[];
  private readonly targets: RoutingTarget[];
  private readonly eligible: RoutingTarget[] = [];
  private readonly loads: InstanceLoad[];

  // Per request (dataset index).
  private readonly arrival: Float64Array;
  private readonly firstToken: Float64Array;
  /** Disaggregated: end of the prefill iteration (the context server's first token). */
  private readonly prefillEnd: Float64Array;
  /** Disaggregated: when the KV transfer ended (the request joined the decode worker). */
  private readonly transferEnd: Float64Array;
  /** When the decode worker first schedules a transferred request (its executor loop's next iteration start). */
  private readonly generationStart: Float64Array;
  private readonly flow: DisaggFlow;
  private readonly endMs: Float64Array;
  private readonly paused: Int32Array;
  private readonly reused: Float64Array;
  private readonly errors = new Map<number, string>();
  private readonly tokenOffset: Float64Array;
  private readonly tokenTimes: Float64Array;
  private readonly stages: RequestStages;

  // Disaggregated state.
  private readonly admitQueue: number[] = [];
  private admitHead = 0;
  private readonly decodeQueue: number[] = [];
  private decodeHead = 0;
  /** Prefill engine: KV blocks of prompts handed to it and not yet transferred (in prefill, or finished and held). */
  private readonly held: Float64Array;
  /** Decode engine: KV blocks of the whole sequences of requests assigned to it and not finished. */
  private readonly assigned: Float64Array;
  /** Decode engine: requests assigned to it (in transfer or in the loop) and not finished. */
  private readonly assignedCount: Int32Array;
  /** Per engine: when its KV-transfer link is free (prefill: sending, decode: receiving). */
  private readonly linkFree: Float64Array;
  /** Per engine: end of its last committed iteration. */
  private readonly lastEnd: Float64Array;

  private nextInOrder = 0;
  /** Measured requests (dataset indices [0, measured)); warm-up ones follow. */
  private readonly measured: number;
  private warmupLeft: number;
  /** Start of the measured run on the shared clock (the end of the warm-up). */
  private t0 = 0;
  private finished = 0;
  private iterations = 0;
  private clock = 0;

  // Pricing.
  private prefetch: (DecodeRunPrefetch | null)[] = [];
  private readonly pricing: PricingStats = { aheadPhases: 0, aheadIterations: 0, peakInFlight: 0, rounds: 0 };
  /** While instances run ahead: their iteration records, emitted afterwards in the walk's order. */
  private aheadLog: { t: number; pass: number; e: number; s: IterationStats }[] | null = null;
  /** Set when a running-ahead instance failed: the others stop at their next step. */
  private aheadStop = false;

  constructor(init: ClusterSimInit) {
    const warmup = init.warmup ?? [];
    this.reqs = warmup.length > 0 ? [...init.requests, ...warmup] : init.requests;
    this.measured = init.requests.length;
    this.warmupLeft = warmup.length;
    this.plan = init.plan;
    this.disagg = init.prefill !== undefined;
    if (this.disagg && (init.decode === undefined || init.transfer === undefined))
      throw new Error("a disaggregated cluster needs decode workers and a transfer model");
    if (!this.disagg && init.aggregated === undefined) throw new Error("a cluster needs aggregated instances or prefill and decode workers");
    this.pools = {};
    if (init.aggregated) this.pools.aggregated = init.aggregated;
    if (init.prefill) this.pools.prefill = init.prefill;
    if (init.decode) this.pools.decode = init.decode;
    this.transfer = init.transfer;
    this.flow = init.flow ?? DEFAULT_DISAGG_FLOW;
    this.engines = this.disagg ? [...init.prefill!.engines, ...init.decode!.engines] : [...init.aggregated!.engines];
    this.onIteration = init.onIteration;
    const ne = this.engines.length;
    this.nextT = new Float64Array(ne).fill(Number.POSITIVE_INFINITY);
    this.handles = this.engines.map(() => []);
    this.loads = this.engines.map((e) => e.loop.load());
    this.stats = this.engines.map((e, i) => ({
      name: e.name,
      role: e.role,
      pool: e.pool,
      gpus: e.gpus,
      iterations: 0,
      prefillIterations: 0,
      decodeIterations: 0,
      mixedIterations: 0,
      busyMs: 0,
      requests: 0,
      contextTokens: 0,
      generatedTokens: 0,
      peakActive: 0,
      peakKvBlocks: 0,
      kvTotalBlocks: this.loads[i]!.kvTotalBlocks,
    }));
    this.targets = this.engines.map((e, i) => ({ index: e.index, load: () => this.loadOf(i) }));
    const n = this.reqs.length;
    this.arrival = new Float64Array(n).fill(Number.NaN);
    this.firstToken = new Float64Array(n).fill(Number.NaN);
    this.prefillEnd = new Float64Array(n).fill(Number.NaN);
    this.transferEnd = new Float64Array(n).fill(Number.NaN);
    this.generationStart = new Float64Array(n).fill(Number.NaN);
    this.endMs = new Float64Array(n).fill(Number.NaN);
    this.paused = new Int32Array(n);
    this.reused = new Float64Array(n);
    this.tokenOffset = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.tokenOffset[i + 1] = this.tokenOffset[i]! + this.reqs[i]!.outputTokens;
    this.tokenTimes = new Float64Array(this.tokenOffset[n]!);
    const nan = () => new Float64Array(n).fill(Number.NaN);
    this.stages = {
      admitWaitMs: nan(),
      decodeWaitMs: nan(),
      transferMs: nan(),
      decodeFirstStepMs: nan(),
      prefillEngine: new Int32Array(n).fill(-1),
      decodeEngine: new Int32Array(n).fill(-1),
    };
    this.held = new Float64Array(ne);
    this.assigned = new Float64Array(ne);
    this.assignedCount = new Int32Array(ne);
    this.linkFree = new Float64Array(ne);
    this.lastEnd = new Float64Array(ne);
    if (this.warmupLeft > 0) for (let i = this.measured; i < n; i++) this.events.push(0, { kind: EV_ARRIVAL, req: i, engine: -1 });
    else this.startMeasured(0);
  }

  /** The measured run starts at `t0`: its arrivals are planned from there; the stats restart. */
  private startMeasured(t0: number): void {
    this.t0 = t0;
    const n = this.measured;
    if (t0 > 0) {
      this.iterations = 0;
      for (const s of this.stats) {
        s.iterations = s.prefillIterations = s.decodeIterations = s.mixedIterations = 0;
        s.busyMs = s.requests = s.contextTokens = s.generatedTokens = s.peakActive = s.peakKvBlocks = 0;
      }
    }
    const first = this.plan.concurrency > 0 ? Math.min(this.plan.initiallySubmitted, n) : n;
    for (let k = 0; k < first; k++) this.pushArrival(t0 + this.plan.submitMs[this.plan.order[k]!]!);
  }

  private readonly onIteration: ((engine: ClusterEngine, s: IterationStats) => void) | undefined;

  /** The load an engine reports, plus (prefill) the blocks it holds for transfers and (decode) those assigned to it. */
  private loadOf(e: number): InstanceLoad {
    const l = this.engines[e]!.loop.load();
    const role = this.engines[e]!.role;
    if (role === "prefill") return { ...l, kvUsedBlocks: Math.max(l.kvUsedBlocks, this.held[e]!) };
    if (role === "decode") return { ...l, kvUsedBlocks: Math.max(l.kvUsedBlocks, this.assigned[e]!) };
    return l;
  }

  private pushArrival(t: number): void {
    const i = this.plan.order[this.nextInOrder++]!;
    this.events.push(t, { kind: EV_ARRIVAL, req: i, engine: -1 });
  }

  private engineOffset(role: PoolRole): number {
    return role === "decode" ? this.pools.prefill!.engines.length : 0;
  }

  private submit(e: number, req: number, sub: SimRequest, t: number, kvReady: boolean): void {
    const h = this.engines[e]!.loop.submit(sub, t, kvReady ? { kvReady: true } : undefined);
    const hs = this.handles[e]!;
    hs[h] = req;
    this.stats[e]!.requests++;
    const nt = this.engines[e]!.loop.nextEventTime();
    this.nextT[e] = nt;
  }

  /** Runs to the end. Synchronous predictors never wait on the event loop beyond the periodic yields. */
  async run(opts: ClusterRunOptions = {}): Promise<ClusterResult> {
    const { signal, onProgress } = opts;
    const yieldEvery = opts.yieldEveryMs ?? 20;
    const progressEvery = opts.progressEveryMs ?? 250;
    let lastYield = performance.now();
    let lastProgress = lastYield;
    let sinceCheck = 0;
    const ne = this.engines.length;
    const group: number[] = [];
    const times: (number | PromiseLike<number>)[] = new Array(ne).fill(0);
    const outstanding = new Map<BatchPredictor, number>();
    this.prefetch = this.engines.map((e) => (e.decodeRuns !== false && DecodeRunPrefetch.applies(e.predictor) ? new DecodeRunPrefetch(e.predictor) : null));
    // Running ahead pays off only when a prediction can be waited for (an asynchronous predictor).
    const pipelined = opts.pipelined !== false && this.engines.some((e) => (e.predictor.maxInFlight ?? 1) > 1);
    const gate = new PricingGate(Math.max(1, Math.floor(opts.maxInFlight ?? 64)));
    /** Every 64 iterations: cancellation, progress, and a turn of the event loop now and then. */
    const tick = (): void | Promise<void> => {
      if (++sinceCheck < 64) return;
      sinceCheck = 0;
      if (signal?.aborted) throw cancelled(signal);
      const now = performance.now();
      if (onProgress !== undefined && now - lastProgress >= progressEvery) {
        lastProgress = now;
        onProgress(this.progress());
      }
      if (now - lastYield < yieldEvery) return;
      return yieldToEventLoop().then(() => {
        lastYield = performance.now();
        if (signal?.aborted) throw cancelled(signal);
      });
    };
    if (signal?.aborted) throw cancelled(signal);
    for (;;) {
      let tEng = Number.POSITIVE_INFINITY;
      for (let e = 0; e < ne; e++) if (this.nextT[e]! < tEng) tEng = this.nextT[e]!;
      const tEv = this.events.peekTime();
      if (tEv <= tEng && tEv !== Number.POSITIVE_INFINITY) {
        this.clock = tEv;
        this.handleEvent(tEv, this.events.pop());
        continue;
      }
      if (tEng === Number.POSITIVE_INFINITY) {
        // Requests that ended outside a commit (a drain of the last batch in flight) may still come.
        let more = false;
        for (let e = 0; e < ne; e++) more = this.takeEnded(e, this.clock) || more;
        if (more || this.failUnserved()) continue;
        break;
      }
      this.clock = tEng;
      if (pipelined && this.decoupled()) {
        await this.runAhead(tEv, gate, tick);
        lastYield = performance.now();
        continue;
      }
      group.length = 0;
      let pending = false;
      outstanding.clear();
      /** Waits for the group's outstanding predictions (a remote predictor answers at most maxInFlight at once). */
      const settle = async (): Promise<void> => {
        this.pricing.rounds++;
        const settled = await Promise.all(group.map((e) => times[e]!));
        if (signal?.aborted) throw cancelled(signal);
        group.forEach((e, k) => {
          times[e] = settled[k]!;
        });
        outstanding.clear();
        pending = false;
        lastYield = performance.now();
      };
      for (let e = 0; e < ne; e++) {
        if (this.nextT[e] !== tEng) continue;
        const eng = this.engines[e]!;
        const batch = this.schedule(e, tEng);
        if (batch === null) continue;
        group.push(e);
        const held = outstanding.get(eng.predictor) ?? 0;
        if (pending && held >= (eng.predictor.maxInFlight ?? 1)) await settle();
        const v = this.price(e, batch);
        if (isThenable(v)) {
          pending = true;
          outstanding.set(eng.predictor, (outstanding.get(eng.predictor) ?? 0) + 1);
          let all = 0;
          for (const k of outstanding.values()) all += k;
          if (all > this.pricing.peakInFlight) this.pricing.peakInFlight = all;
        }
        times[e] = v;
      }
      if (pending) await settle();
      for (const e of group) {
        const eng = this.engines[e]!;
        const ev = eng.loop.commit(checkedTime(times[e], eng));
        this.afterCommit(e, ev, tEng, 0);
        this.nextT[e] = eng.loop.nextEventTime();
      }
      const w = tick();
      if (w !== undefined) await w;
    }
    onProgress?.(this.progress());
    return this.result();
  }

  /** Engine e's iteration starting at `t`, counted; null when it has nothing to run then (its requests that ended are queued). */
  private schedule(e: number, t: number): SimBatch | null {
    const loop = this.engines[e]!.loop;
    const batch = loop.schedule(t);
    if (batch === null) {
      this.takeEnded(e, t);
      const nt = loop.nextEventTime();
      this.nextT[e] = nt > t ? nt : Number.POSITIVE_INFINITY;
      return null;
    }
    this.countBatch(e, batch);
    return batch;
  }

  /** The time of engine e's batch: a step of a prefetched decode run when one applies, else the predictor's answer. */
  private price(e: number, batch: SimBatch): number | PromiseLike<number> {
    const run = this.prefetch[e];
    const eng = this.engines[e]!;
    // A decode run carries no attention-DP ranks: an attention-DP instance prices every batch.
    return run !== null && batch.numContext === 0 && batch.attentionDpRank === undefined ? run.timeFor(batch) : priceOn(eng.loop, eng.predictor, batch);
  }

  /**
   * Nothing that happens before the next arrival can reach another instance: aggregated serving after
   * the warm-up, once no request's end brings a new arrival (an open loop, or a closed loop whose last
   * request has arrived). A request's end then only completes its record, and only an arrival (routed
   * on the instances' loads) touches an instance.
   */
  private decoupled(): boolean {
    return !this.disagg && this.warmupLeft === 0 && (this.plan.concurrency <= 0 || this.nextInOrder >= this.measured);
  }

  /**
   * Conservative parallel simulation between two arrivals. While decoupled() holds, an instance whose
   * next iteration starts before the next event (`horizon`) depends only on its own state until then:
   * no submit can reach it (the next arrival is at `horizon` or later), and the events its neighbours'
   * iterations make (request ends) touch no instance. So every such instance runs its iterations up to
   * the horizon on its own, all of them at once, each with one prediction outstanding (at most a
   * predictor's maxInFlight and the job's limit in all), and the walk resumes at the horizon with the
   * state the sequential walk would have there: the same iterations were scheduled and committed, each
   * instance's in the same order, request ends handled (their order does not matter: they only write
   * records), and the iteration records emitted in the walk's order (start time, then the instance's
   * pass at that time, then the instance).
   */
  private async runAhead(horizon: number, gate: PricingGate, tick: () => void | Promise<void>): Promise<void> {
    this.pricing.aheadPhases++;
    const log: { t: number; pass: number; e: number; s: IterationStats }[] = [];
    this.aheadLog = log;
    this.aheadStop = false;
    let failure: unknown;
    const chains: Promise<void>[] = [];
    let rounds = 0;
    for (let e = 0; e < this.engines.length; e++) {
      if (this.nextT[e]! >= horizon) continue;
      chains.push(
        this.engineAhead(e, horizon, gate, tick).then(
          (waits) => {
            if (waits > rounds) rounds = waits;
          },
          (err: unknown) => {
            if (!this.aheadStop) failure = err;
            this.aheadStop = true;
          },
        ),
      );
    }
    await Promise.all(chains);
    this.pricing.rounds += rounds;
    this.aheadLog = null;
    if (this.aheadStop) throw failure;
    log.sort((a, b) => a.t - b.t || a.pass - b.pass || a.e - b.e);
    for (const r of log) this.onIteration!(this.engines[r.e]!, r.s);
  }

  /** One instance's iterations that start before `horizon` (see runAhead); returns how many predictions it waited for. */
  private async engineAhead(e: number, horizon: number, gate: PricingGate, tick: () => void | Promise<void>): Promise<number> {
    const eng = this.engines[e]!;
    const gated = eng.predictor.maxInFlight !== undefined;
    let waits = 0;
    let lastT = Number.NaN;
    let pass = 0;
    while (this.nextT[e]! < horizon && !this.aheadStop) {
      const t = this.nextT[e]!;
      const batch = this.schedule(e, t);
      if (batch === null) continue;
      pass = t === lastT ? pass + 1 : 0;
      lastT = t;
      let time: number;
      if (gated) {
        const wait = gate.acquire(eng.predictor);
        if (wait !== undefined) await wait;
        try {
          const v = this.price(e, batch);
          if (isThenable(v)) waits++;
          time = isThenable(v) ? await v : v;
        } finally {
          gate.release(eng.predictor);
        }
        if (gate.peak > this.pricing.peakInFlight) this.pricing.peakInFlight = gate.peak;
      } else {
        const v = this.price(e, batch);
        if (isThenable(v)) waits++;
        time = isThenable(v) ? await v : v;
      }
      if (this.aheadStop) return waits;
      const ev = eng.loop.commit(checkedTime(time, eng));
      this.pricing.aheadIterations++;
      this.afterCommit(e, ev, t, pass);
      this.nextT[e] = eng.loop.nextEventTime();
      const w = tick();
      if (w !== undefined) await w;
    }
    return waits;
  }

  /**
   * Fails what arrived and can never run (e.g. a decode pool too small for a sequence) once nothing else
   * can happen. True when that made new work (the next closed-loop arrivals, the measured run after a
   * stuck warm-up).
   */
  private failUnserved(): boolean {
    for (let i = 0; i < this.reqs.length; i++) {
      if (!Number.isNaN(this.arrival[i]!) && Number.isNaN(this.endMs[i]!) && !this.errors.has(i))
        this.fail(i, this.clock, "the cluster ended with the request unserved");
    }
    return this.events.peekTime() !== Number.POSITIVE_INFINITY;
  }

  private progress() {
    const warmingUp = this.warmupLeft > 0;
    return {
      requestsFinished: warmingUp ? 0 : this.finished,
      requestsTotal: this.measured,
      simTimeMs: warmingUp ? 0 : this.clock - this.t0,
      iterations: warmingUp ? 0 : this.iterations,
      warmingUp,
    };
  }

  private countBatch(e: number, b: SimBatch): void {
    const s = this.stats[e]!;
    // Peaks at schedule time: a prefill worker's requests leave in the commit that prefills them.
    const l = this.engines[e]!.loop.load();
    if (l.active > s.peakActive) s.peakActive = l.active;
    if (l.kvUsedBlocks > s.peakKvBlocks) s.peakKvBlocks = l.kvUsedBlocks;
    if (b.numContext > 0 && b.numGeneration > 0) s.mixedIterations++;
    else if (b.numContext > 0) s.prefillIterations++;
    else s.decodeIterations++;
    s.contextTokens += b.numContextTokens;
    s.generatedTokens += b.numGeneration;
  }

  /** `t`: the iteration's start (the walk's clock at its commit); `pass`: how many iterations of `e` started at `t` before it. */
  private afterCommit(e: number, ev: LoopEvents, t: number, pass: number): void {
    const s = this.stats[e]!;
    s.iterations++;
    this.iterations++;
    s.busyMs += ev.endMs - ev.startMs;
    if (ev.endMs > this.lastEnd[e]!) this.lastEnd[e] = ev.endMs;
    if (ev.iteration !== null && this.onIteration && this.warmupLeft === 0) {
      const s = this.t0 > 0 ? { ...ev.iteration, simTimeMs: ev.iteration.simTimeMs - this.t0 } : ev.iteration;
      if (this.aheadLog !== null) this.aheadLog.push({ t, pass, e, s });
      else this.onIteration(this.engines[e]!, s);
    }
    this.queueDone(e, ev.done, t);
  }

  /**
   * Completions become events at their end times (the event objects outlive the commit; their token
   * arrays are fresh); `t` is the walk's clock. While instances run ahead, a request's end only completes
   * its record (runAhead), so it is handled at once.
   */
  private queueDone(e: number, done: readonly RequestDoneEvent[], t: number): void {
    for (const d of done) {
      const at = Math.max(d.endMs, t);
      const req = this.handles[e]![d.handle]!;
      if (this.aheadLog !== null) this.requestDone(e, req, d, at);
      else this.events.push(at, { kind: EV_DONE, req, engine: e, done: d });
    }
  }

  private takeEnded(e: number, t: number): boolean {
    const done = this.engines[e]!.loop.takeEnded();
    if (done.length === 0) return false;
    this.queueDone(e, done, t);
    this.nextT[e] = this.engines[e]!.loop.nextEventTime();
    return true;
  }

  private handleEvent(t: number, ev: ClusterEvent): void {
    switch (ev.kind) {
      case EV_ARRIVAL:
        this.arrive(ev.req, t);
        break;
      case EV_DONE:
        this.requestDone(ev.engine, ev.req, ev.done!, t);
        break;
      case EV_TRANSFER_END:
        this.transferDone(ev.req, ev.engine, t);
        break;
      case EV_ADMIT:
        this.admit(ev.req, t);
        break;
      case EV_HANDOFF:
        this.decodeQueue.push(ev.req);
        this.drainDecode(t);
        break;
    }
  }

  private arrive(i: number, t: number): void {
    this.arrival[i] = t;
    if (this.flow.frontendMs > 0) this.events.push(t + this.flow.frontendMs, { kind: EV_ADMIT, req: i, engine: -1 });
    else this.admit(i, t);
  }

  /** The request reaches the cluster's workers (after the frontend). */
  private admit(i: number, t: number): void {
    if (!this.disagg) {
      const pool = this.pools.aggregated!;
      const k = pool.router.route(this.reqs[i]!, this.targets);
      this.stages.admitWaitMs[i] = t - this.arrival[i]!;
      this.submit(k, i, this.reqs[i]!, t, false);
      return;
    }
    this.admitQueue.push(i);
    this.drainAdmissions(t);
  }

  private promptBlocks(i: number, e: number): number {
    return Math.ceil(this.reqs[i]!.inputLength / this.engines[e]!.tokensPerBlock);
  }

  private sequenceBlocks(i: number, e: number): number {
    const r = this.reqs[i]!;
    return Math.ceil((r.inputLength + r.outputTokens) / this.engines[e]!.tokensPerBlock);
  }

  /** Hands waiting arrivals to prefill workers with room for their prompt next to the KV they hold. */
  private drainAdmissions(t: number): void {
    const pool = this.pools.prefill!;
    const np = pool.engines.length;
    while (this.admitHead < this.admitQueue.length) {
      const i = this.admitQueue[this.admitHead]!;
      this.eligible.length = 0;
      let fitsSomewhere = false;
      for (let p = 0; p < np; p++) {
        const need = this.promptBlocks(i, p);
        const total = this.loads[p]!.kvTotalBlocks;
        if (need <= total) fitsSomewhere = true;
        if (this.held[p]! + need <= total) this.eligible.push(this.targets[p]!);
      }
      if (!fitsSomewhere) {
        this.admitHead++;
        this.fail(i, t, `its ${this.reqs[i]!.inputLength}-token prompt needs more KV blocks than a prefill worker has`);
        continue;
      }
      if (this.eligible.length === 0) break;
      this.admitHead++;
      const p = this.eligible[pool.router.route(this.reqs[i]!, this.eligible)]!.index;
      this.stages.admitWaitMs[i] = t - this.arrival[i]!;
      this.stages.prefillEngine[i] = p;
      const r = this.reqs[i]!;
      this.held[p] = this.held[p]! + this.promptBlocks(i, p);
      this.submit(p, i, { ...r, outputTokens: 1 }, t, false);
    }
    if (this.admitHead > 4096 && this.admitHead * 2 > this.admitQueue.length) {
      this.admitQueue.splice(0, this.admitHead);
      this.admitHead = 0;
    }
  }

  /** Starts the KV transfers of finished prompts, in order, while decode workers have room for the whole sequence. */
  private drainDecode(t: number): void {
    const pool = this.pools.decode!;
    const off = this.engineOffset("decode");
    const nd = pool.engines.length;
    let released = false;
    while (this.decodeHead < this.decodeQueue.length) {
      const i = this.decodeQueue[this.decodeHead]!;
      this.eligible.length = 0;
      let fitsSomewhere = false;
      for (let d = 0; d < nd; d++) {
        const e = off + d;
        const need = this.sequenceBlocks(i, e);
        const total = this.loads[e]!.kvTotalBlocks;
        if (need <= total) fitsSomewhere = true;
        if (this.assigned[e]! + need <= total && this.assignedCount[e]! < (this.engines[e]!.maxActive ?? Number.POSITIVE_INFINITY))
          this.eligible.push(this.targets[e]!);
      }
      const p = this.stages.prefillEngine[i]!;
      if (!fitsSomewhere) {
        this.decodeHead++;
        this.held[p] = this.held[p]! - this.promptBlocks(i, p);
        released = true;
        this.fail(i, t, `its ${this.reqs[i]!.inputLength + this.reqs[i]!.outputTokens}-token sequence needs more KV blocks than a decode worker has`);
        continue;
      }
      if (this.eligible.length === 0) break;
      this.decodeHead++;
      const d = this.eligible[pool.router.route(this.reqs[i]!, this.eligible)]!.index;
      const e = off + d;
      this.assigned[e] = this.assigned[e]! + this.sequenceBlocks(i, e);
      this.assignedCount[e]!++;
      this.held[p] = this.held[p]! - this.promptBlocks(i, p);
      released = true;
      this.stages.decodeEngine[i] = d;
      this.stages.decodeWaitMs[i] = t - this.prefillEnd[i]! - this.flow.handoffMs;
      // The generation server takes a new request (DISAGG_GENERATION_INIT: KV allocated, reception asked
      // for) when its executor loop fetches requests, at its next iteration start
      // (tensorrt_llm/_torch/pyexecutor/py_executor.py); an idle worker takes it at once.
      const init = this.nextIterationStart(e, t);
      // The sending worker's and the receiving worker's links carry one transfer's bytes at a time (each
      // at the full per-GPU bandwidth): a transfer waits for both, then takes bytes / bandwidth + latency.
      const tr = this.transfer!;
      const link = tr.link(p, d);
      const wire = kvTransferMs(this.reqs[i]!.inputLength, tr.bytesPerTokenPerRank, { ...link, latencyMs: 0 });
      const start = Math.max(init, this.linkFree[p]!, this.linkFree[e]!);
      this.linkFree[p] = this.linkFree[e] = start + wire;
      const done = start + wire + link.latencyMs;
      this.stages.transferMs[i] = done - t;
      this.events.push(done, { kind: EV_TRANSFER_END, req: i, engine: e });
    }
    if (this.decodeHead > 4096 && this.decodeHead * 2 > this.decodeQueue.length) {
      this.decodeQueue.splice(0, this.decodeHead);
      this.decodeHead = 0;
    }
    if (released) this.drainAdmissions(t);
  }

  /** When an engine's executor loop next fetches requests: now if it is idle, else its next iteration start. */
  private nextIterationStart(e: number, t: number): number {
    const last = this.lastEnd[e]!;
    if (last <= t) return t;
    const next = this.nextT[e]!;
    return Number.isFinite(next) ? Math.max(t, next) : last;
  }

  private transferDone(i: number, e: number, t: number): void {
    this.transferEnd[i] = t;
    this.generationStart[i] = this.nextIterationStart(e, t);
    this.submit(e, i, this.reqs[i]!, t, true);
  }

  private requestDone(e: number, i: number, d: RequestDoneEvent, t: number): void {
    const role = this.engines[e]!.role;
    this.paused[i] = this.paused[i]! + d.pausedCount;
    this.reused[i] = this.reused[i]! + d.reusedTokens;
    if (d.error !== undefined) {
      if (role === "prefill") this.held[e] = this.held[e]! - this.promptBlocks(i, e);
      if (role === "decode") {
        this.assigned[e] = this.assigned[e]! - this.sequenceBlocks(i, e);
        this.assignedCount[e]!--;
      }
      this.fail(i, t, d.error);
      if (role === "decode") this.drainDecode(t);
      if (role === "prefill") this.drainAdmissions(t);
      return;
    }
    const base = this.tokenOffset[i]!;
    if (role === "prefill") {
      const ft = d.tokenTimesMs[0]!;
      this.prefillEnd[i] = ft;
      if (this.reqs[i]!.outputTokens <= 1) {
        // Nothing to generate: the context response is the whole answer.
        this.firstToken[i] = ft;
        this.tokenTimes[base] = ft;
        this.held[e] = this.held[e]! - this.promptBlocks(i, e);
        this.finish(i, ft);
        this.drainAdmissions(t);
        return;
      }
      if (this.flow.firstToken === "context") {
        this.firstToken[i] = ft;
        this.tokenTimes[base] = ft;
      }
      if (this.flow.handoffMs > 0) {
        this.events.push(t + this.flow.handoffMs, { kind: EV_HANDOFF, req: i, engine: e });
        return;
      }
      this.decodeQueue.push(i);
      this.drainDecode(t);
      return;
    }
    if (role === "decode") {
      this.tokenTimes.set(d.tokenTimesMs, base + 1);
      const first = d.tokenTimesMs.length > 0 ? d.tokenTimesMs[0]! : Number.NaN;
      if (this.flow.firstToken === "generation") {
        // The generation server returns the context's token as soon as it schedules the request, before
        // that iteration's forward step (_handle_first_token_response in
        // tensorrt_llm/_torch/pyexecutor/py_executor.py); its own tokens follow.
        const emitted = Math.min(this.generationStart[i]!, first);
        this.firstToken[i] = emitted;
        this.tokenTimes[base] = emitted;
      }
      this.stages.decodeFirstStepMs[i] = first - this.transferEnd[i]!;
      this.assigned[e] = this.assigned[e]! - this.sequenceBlocks(i, e);
      this.assignedCount[e]!--;
      this.finish(i, d.tokenTimesMs.length > 0 ? d.tokenTimesMs[d.tokenTimesMs.length - 1]! : this.prefillEnd[i]!);
      this.drainDecode(t);
      return;
    }
    this.tokenTimes.set(d.tokenTimesMs, base);
    this.firstToken[i] = d.tokenTimesMs[0]!;
    this.finish(i, d.tokenTimesMs[d.tokenTimesMs.length - 1]!);
  }

  private finish(i: number, end: number): void {
    this.endMs[i] = end;
    this.ended(i, this.clock);
  }

  /** A request left the cluster (finished or failed): the closed loop's next arrival, or the warm-up's end. */
  private ended(i: number, t: number): void {
    if (i >= this.measured) {
      if (--this.warmupLeft === 0) this.startMeasured(t);
      return;
    }
    this.finished++;
    if (this.plan.concurrency > 0 && this.nextInOrder < this.measured) this.pushArrival(t);
  }

  private fail(i: number, t: number, reason: string): void {
    if (this.errors.has(i)) return;
    this.errors.set(i, reason);
    this.endMs[i] = t;
    this.ended(i, t);
  }

  private result(): ClusterResult {
    const n = this.measured;
    const t0 = this.t0;
    const records: RequestRecord[] = new Array(n);
    let simulatedMs = 0;
    let numFailed = 0;
    for (let i = 0; i < n; i++) {
      const r = this.reqs[i]!;
      const err = this.errors.get(i);
      if (err !== undefined) {
        numFailed++;
        records[i] = failedRequestRecord(r, this.paused[i]!, this.reused[i]!, err);
        continue;
      }
      // The measured run's clock starts at the end of the warm-up.
      const start = this.arrival[i]! - t0;
      const first = this.firstToken[i]! - t0;
      const end = this.endMs[i]! - t0;
      const tokens = this.tokenTimes.subarray(this.tokenOffset[i]!, this.tokenOffset[i + 1]!);
      if (t0 > 0) for (let k = 0; k < tokens.length; k++) tokens[k] = tokens[k]! - t0;
      if (end > simulatedMs) simulatedMs = end;
      const out = r.outputTokens;
      records[i] = {
        taskId: r.taskId,
        inputLength: r.inputLength,
        outputLength: out,
        startMs: start,
        firstTokenMs: first,
        endMs: end,
        ttftMs: first - start,
        tpotMs: out > 1 ? (end - first) / (out - 1) : 0,
        e2eMs: end - start,
        tokenTimesMs: tokens,
        pausedCount: this.paused[i]!,
        reusedTokens: this.reused[i]!,
      };
    }
    const st = this.stages;
    const stages: RequestStages =
      n === this.reqs.length
        ? st
        : {
            admitWaitMs: st.admitWaitMs.subarray(0, n),
            decodeWaitMs: st.decodeWaitMs.subarray(0, n),
            transferMs: st.transferMs.subarray(0, n),
            decodeFirstStepMs: st.decodeFirstStepMs.subarray(0, n),
            prefillEngine: st.prefillEngine.subarray(0, n),
            decodeEngine: st.decodeEngine.subarray(0, n),
          };
    return { records, engines: this.stats, stages, simulatedMs, numIterations: this.iterations, numFailed, pricing: { ...this.pricing } };
  }
}
