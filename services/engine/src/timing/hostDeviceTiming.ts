import type { BatchPredictor, SimBatch } from "@servesim/core";
import { type CudaGraphSettings, graphBatchSize } from "./cudaGraph.js";
import { eagerLaunchMs, type HostCostParams } from "./hostCost.js";
import { timingStrategy } from "./registry.js";
import type { TimingDef } from "./timingStrategy.js";

/**
 * Which clock the engine runs on.
 * - `whole-iteration`: the predictor's time is the whole iteration, host included (the constant
 *   predictor's semantics: PR #12700's 10 ms prefill / 5 ms decode are wall times).
 * - `non-overlap`: TensorRT-LLM's `_executor_loop`: the host prepares the batch, the GPU runs it, the
 *   host processes its outputs, in turn: wall = host + device.
 * - `overlap`: TensorRT-LLM's `_executor_loop_overlap` (the PyTorch backend's default): the host
 *   schedules and prepares iteration i+1 and processes the outputs of iteration i−1 while the GPU runs
 *   iteration i, so an iteration takes max(host, device) and responses leave one iteration late (the
 *   engine's overlap loop does the latter).
 */
export type TimingModelName = "whole-iteration" | "non-overlap" | "overlap";

export const TIMING_MODEL_NAMES: readonly TimingModelName[] = ["whole-iteration", "non-overlap", "overlap"];

/** The engine loop (timing/ registry) a host/device timing model runs: it sets the loop's wall-time rule. */
export function timingLoop(model: Exclude<TimingModelName, "whole-iteration">): TimingDef {
  return timingStrategy(model === "overlap" ? "overlap" : "non_overlap");
}

export interface TimingSettings {
  model: TimingModelName;
  host: HostCostParams;
  /** null: CUDA graphs off (every iteration eager). */
  cudaGraphs: CudaGraphSettings | null;
  /** Decoder layers run by one rank (eager launch cost). */
  layers: number;
}

/** One line for reports: "overlap (host 600 µs + 4 µs/request, CUDA graphs 1–128, no padding)". */
export function describeTiming(s: TimingSettings): string {
  if (s.model === "whole-iteration") return "whole-iteration (the predictor's times are wall times)";
  const h = s.host;
  const host = `host ${fmtUs(h.stepUs)} µs + ${fmtUs(h.perRequestUs)} µs/request, eager launch ${fmtUs(h.launchUsPerLayer)} µs/layer`;
  const cg = s.cudaGraphs;
  const graphs =
    cg === null
      ? "CUDA graphs off"
      : `CUDA graphs ${cg.batchSizes.length} sizes ${cg.batchSizes[0]}–${cg.batchSizes[cg.batchSizes.length - 1]}, ${cg.enablePadding ? "padding" : "no padding"}`;
  return `${s.model} (${host}; ${graphs})`;
}

const fmtUs = (x: number): string => String(Math.round(x * 100) / 100);

/** The engine's batch with dummy decode requests appended (CUDA-graph padding). */
class PaddedBatch implements SimBatch {
  numContext = 0;
  numGeneration = 0;
  numContextTokens = 0;
  inputLength: Int32Array = new Int32Array(0);
  pastKvLength: Int32Array = new Int32Array(0);

  fill(src: ArrayLike<number>, n: number, size: number, step: number): this {
    if (this.inputLength.length < size) {
      this.inputLength = new Int32Array(size).fill(1);
      this.pastKvLength = new Int32Array(size);
    }
    for (let i = 0; i < n; i++) this.pastKvLength[i] = src[i]! + step;
    // TensorRT-LLM's padding requests hold one token of KV cache and decode one token.
    for (let i = n; i < size; i++) this.pastKvLength[i] = 1;
    this.numGeneration = size;
    return this;
  }
}

/**
 * The one place an iteration's wall time is made: a predictor's device time turned into wall time by a
 * timing model: CUDA-graph padding of decode-only batches, eager launch cost, and host time combined with
 * the device time by the loop's rule (`TimingDef.wallMs`: added in the non-overlap loop, hidden behind the
 * device in the overlap loop). The engine's clock then advances by these times. The predictor itself
 * returns device time only, so one predictor service serves engines with any host profile. With
 * `whole-iteration` the predictor is returned unchanged (its times are wall times already).
 */
export function withHostDeviceTiming(inner: BatchPredictor, s: TimingSettings): BatchPredictor {
  if (s.model === "whole-iteration") return inner;
  return new HostDeviceTimedPredictor(inner, s);
}

class HostDeviceTimedPredictor implements BatchPredictor {
  readonly description: string;
  readonly maxInFlight: number | undefined;
  private readonly combine: TimingDef["wallMs"];
  private readonly launchMs: number;
  private readonly padded = new PaddedBatch();
  private rankCounts = new Int32Array(8);
  readonly predictDecodeRun: BatchPredictor["predictDecodeRun"];

  constructor(
    private readonly inner: BatchPredictor,
    private readonly s: TimingSettings,
  ) {
    this.description = inner.description;
    this.maxInFlight = inner.maxInFlight;
    this.combine = timingLoop(s.model as Exclude<TimingModelName, "whole-iteration">).wallMs;
    this.launchMs = eagerLaunchMs(s.layers, s.host);
    this.predictDecodeRun = inner.predictDecodeRun ? (pastKv, count, steps) => this.decodeRun(pastKv, count, steps) : undefined;
  }

  /** Wall time of an iteration from its device time: eager launches bound it from below, host time adds or hides. */
  private wall(deviceMs: number, eager: boolean, requests: number): number {
    const device = eager && this.launchMs > deviceMs ? this.launchMs : deviceMs;
    const host = (this.s.host.stepUs + this.s.host.perRequestUs * requests) / 1000;
    return this.combine(host, device);
  }

  predict(batch: SimBatch): number | Promise<number> {
    if (batch.attentionDpRank !== undefined) return this.predictRanks(batch, batch.attentionDpRank);
    const n = batch.numContext + batch.numGeneration;
    let priced: SimBatch = batch;
    let eager = true;
    if (batch.numContext === 0) {
      const g = graphBatchSize(n, this.s.cudaGraphs);
      eager = g === 0;
      if (g > n) priced = this.padded.fill(batch.pastKvLength, n, g, 0);
    }
    const t = this.inner.predict(priced);
    return typeof t === "number" ? this.wall(t, eager, n) : t.then((d) => this.wall(d, eager, n));
  }

  /**
   * Every attention-DP rank's batch of one iteration: each rank runs its own PyExecutor on its own CPU,
   * in parallel, and the ranks meet in the MoE collectives, so the iteration waits for the rank with the
   * most requests; its host time combines with the device time by the loop's rule. A decode-only
   * iteration replays CUDA graphs when the largest rank batch has one (no padding is priced here).
   */
  private predictRanks(batch: SimBatch, rank: ArrayLike<number>): number | Promise<number> {
    const n = batch.numContext + batch.numGeneration;
    let ranks = 0;
    for (let i = 0; i < n; i++) if (rank[i]! >= ranks) ranks = rank[i]! + 1;
    if (this.rankCounts.length < ranks) this.rankCounts = new Int32Array(ranks);
    const counts = this.rankCounts;
    counts.fill(0);
    let most = 0;
    for (let i = 0; i < n; i++) {
      const c = ++counts[rank[i]!]!;
      if (c > most) most = c;
    }
    const eager = batch.numContext > 0 || graphBatchSize(most, this.s.cudaGraphs) === 0;
    const t = this.inner.predict(batch);
    return typeof t === "number" ? this.wall(t, eager, most) : t.then((d) => this.wall(d, eager, most));
  }

  private decodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] | Float64Array | Promise<number[] | Float64Array> {
    const g = graphBatchSize(count, this.s.cudaGraphs);
    if (g > count) {
      // Padded: each step priced as its padded batch (element i equals predict() of step i exactly).
      const out = new Array<number>(steps);
      const pending: Promise<number>[] = [];
      for (let i = 0; i < steps; i++) {
        const t = this.inner.predict(this.padded.fill(pastKv, count, g, i));
        if (typeof t === "number") out[i] = this.wall(t, false, count);
        else pending.push(t.then((d) => (out[i] = this.wall(d, false, count))));
      }
      return pending.length === 0 ? out : Promise.all(pending).then(() => out);
    }
    const eager = g === 0;
    const v = this.inner.predictDecodeRun!(pastKv, count, steps);
    const map = (d: number[] | Float64Array): number[] | Float64Array => {
      const out = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = this.wall(d[i]!, eager, count);
      return out;
    };
    return v instanceof Promise ? v.then(map) : map(v);
  }

  close(): void | Promise<void> {
    return this.inner.close?.();
  }
}
