import type { BatchPredictor, SimBatch } from "@servesim/core";
import { FailedPreconditionError } from "@servesim/core";
import { checkedTime, isThenable, type PartitionState, type PartitionTiming, type StepOutcome, takeMergedRecords } from "../partitioned/driver.js";
import { type AdpBalance, IDLE_RANK, type RankCounts } from "./balance.js";

/** Every rank's batch of one iteration, context entries first, each entry tagged with its rank. */
class RankedBatch implements SimBatch {
  numContext = 0;
  numGeneration = 0;
  numContextTokens = 0;
  readonly inputLength: Int32Array;
  readonly pastKvLength: Int32Array;
  readonly attentionDpRank: Int32Array;
  draftTokens?: Int32Array;
  constructor(capacity: number) {
    this.inputLength = new Int32Array(capacity);
    this.pastKvLength = new Int32Array(capacity);
    this.attentionDpRank = new Int32Array(capacity);
  }
}

/** Decode runs longer than this are committed in pieces (progress, cancellation and memory stay bounded). */
const MAX_RUN = 4096;

/**
 * Attention DP (`enable_attention_dp`, TensorRT-LLM's PyExecutor on every rank of the TP group): each rank
 * schedules its own batch; the MoE layers exchange every rank's tokens, so the ranks advance in lockstep
 * and an iteration lasts as long as the predictor prices all ranks' batches together (the slowest rank's
 * attention path plus the MoE part; an idle rank runs a dummy request). Decode-only stretches of every
 * rank are committed as decode runs: priced step by step, or with one predictDecodeRun call when every
 * rank runs the same number of requests at the same mean KV length and the predictor prices such a
 * symmetric batch as it prices the ranks' batches (checked on the first step of each run).
 */
export class LockstepTiming implements PartitionTiming {
  private readonly batch: RankedBatch;
  private basePast: Int32Array;
  private times = new Float64Array(MAX_RUN);
  private clock = 0;
  private iter = 0;
  /** The predictor's symmetric decode runs matched its per-rank price (null: not checked yet). */
  private symmetricOk: boolean | null = null;

  /** Per-rank counts of the balancing step (reused). */
  private readonly counts: RankCounts[] = [];

  constructor(
    private readonly ranks: number,
    maxBatchSize: number,
    private readonly decodeRuns: boolean,
    private readonly draftTokens = 0,
    /** Attention-DP context balancing (null: off). */
    private readonly balance: AdpBalance | null = null,
  ) {
    this.batch = new RankedBatch(ranks * maxBatchSize);
    if (draftTokens > 0) this.batch.draftTokens = new Int32Array(ranks * maxBatchSize).fill(draftTokens);
    this.basePast = new Int32Array(ranks * maxBatchSize);
  }

  /**
   * Balancing (attentionDp/balance.ts): the ranks about to build say what they would schedule, a rank
   * with a batch waiting (warm-up boundary) counts with that batch, a finished rank runs the dummy; when
   * the contexts wait, every building rank holds its own.
   */
  beforeBuild(states: PartitionState[]): void {
    const balance = this.balance;
    if (!balance) return;
    const counts = this.counts;
    counts.length = 0;
    let building = false;
    let any = false;
    for (const s of states) {
      let c: RankCounts = IDLE_RANK;
      if (s.batch !== null) c = { context: s.batch.numContext, generation: s.batch.numGeneration };
      else if (!s.done && s.sim) {
        const v = s.sim.scheduledCounts();
        if (v.context + v.generation > 0) c = v;
        building = true;
      }
      if (c !== IDLE_RANK) any = true;
      counts.push(c);
    }
    if (!building || !any || balance.admit(counts)) return;
    for (const s of states) if (s.batch === null && !s.done && s.sim) s.sim.holdContexts();
  }

  reset(): void {
    this.clock = 0;
    this.iter = 0;
  }

  private build(states: PartitionState[], ready: readonly number[]): void {
    const b = this.batch;
    let k = 0;
    let ctxTokens = 0;
    let nc = 0;
    for (const p of ready) {
      const s = states[p]!.batch!;
      for (let i = 0; i < s.numContext; i++) {
        b.inputLength[k] = s.inputLength[i]!;
        b.pastKvLength[k] = s.pastKvLength[i]!;
        b.attentionDpRank[k] = p;
        ctxTokens += s.inputLength[i]!;
        k++;
      }
      nc += s.numContext;
    }
    for (const p of ready) {
      const s = states[p]!.batch!;
      const end = s.numContext + s.numGeneration;
      for (let i = s.numContext; i < end; i++) {
        b.inputLength[k] = 1;
        b.pastKvLength[k] = s.pastKvLength[i]!;
        b.attentionDpRank[k] = p;
        k++;
      }
    }
    b.numContext = nc;
    b.numGeneration = k - nc;
    b.numContextTokens = ctxTokens;
  }

  /** Every rank busy with the same request count and rounded mean KV length: the symmetric shape. */
  private symmetric(states: PartitionState[], ready: readonly number[]): boolean {
    if (ready.length !== this.ranks || this.draftTokens > 0) return false;
    const first = states[ready[0]!]!.batch!;
    const n = first.numGeneration;
    let mean = -1;
    for (const p of ready) {
      const s = states[p]!.batch!;
      if (s.numGeneration !== n) return false;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += s.pastKvLength[i]!;
      const m = Math.round(sum / n);
      if (mean >= 0 && m !== mean) return false;
      mean = m;
    }
    return true;
  }

  async step(states: PartitionState[], ready: number[], predictor: BatchPredictor, measured: boolean): Promise<StepOutcome> {
    this.build(states, ready);
    const b = this.batch;
    const decodeOnly = b.numContext === 0;
    let k = 1;
    if (decodeOnly && this.decodeRuns) {
      k = MAX_RUN;
      for (const p of ready) k = Math.min(k, states[p]!.sim!.decodeRunLength(MAX_RUN));
    }
    const price = async (): Promise<number> => {
      const v = predictor.predict(b);
      return checkedTime(isThenable(v) ? await v : v, predictor);
    };
    const times = this.times;
    if (k === 1) {
      times[0] = await price();
    } else {
      let done = false;
      if (this.symmetricOk !== false && typeof predictor.predictDecodeRun === "function" && this.symmetric(states, ready)) {
        const one = states[ready[0]!]!.batch!;
        const v = predictor.predictDecodeRun(one.pastKvLength, one.numGeneration, k);
        const run = isThenable(v) ? await v : v;
        if (!run || run.length !== k) throw new FailedPreconditionError(`predictor "${predictor.description}" returned a decode run of the wrong length`);
        if (this.symmetricOk === null) {
          const t0 = await price();
          this.symmetricOk = Math.abs(t0 - run[0]!) <= 1e-9 * t0;
        }
        if (this.symmetricOk) {
          for (let i = 0; i < k; i++) times[i] = checkedTime(run[i], predictor);
          done = true;
        }
      }
      if (!done) {
        const n = b.numGeneration;
        this.basePast.set(b.pastKvLength.subarray(0, n));
        for (let i = 0; i < k; i++) {
          if (i > 0) for (let j = 0; j < n; j++) b.pastKvLength[j] = this.basePast[j]! + i;
          times[i] = await price();
        }
      }
    }
    for (const p of ready) {
      const sim = states[p]!.sim!;
      if (k === 1) sim.commit(times[0]!);
      else if (sim.commitDecodeRun(times, k) !== k) throw new Error("attention DP: a rank committed a shorter decode run than the others");
    }
    // The rest of a decode run: iterations without context requests that the balancing also counts.
    if (k > 1) this.balance?.decodeSteps(k - 1);
    let end = this.clock;
    for (let i = 0; i < k; i++) end += times[i]!;
    this.clock = end;
    const first = this.iter;
    this.iter += k;
    const records = measured ? takeMergedRecords(states, ready, k, first) : [];
    if (!measured) for (const p of ready) states[p]!.records.length = 0;
    return {
      iterations: k,
      records,
      endMs: end,
      prefill: b.numContext > 0 && b.numGeneration === 0 ? 1 : 0,
      decode: decodeOnly ? k : 0,
      mixed: b.numContext > 0 && b.numGeneration > 0 ? 1 : 0,
    };
  }
}
