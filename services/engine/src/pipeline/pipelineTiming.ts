import type { BatchPredictor, IterationStats, SimBatch } from "@servesim/core";
import { checkedTime, isThenable, type PartitionState, type PartitionTiming, type StepOutcome } from "../partitioned/driver.js";
import { StageSplit } from "./stageSplit.js";

/**
 * Pipeline parallelism as TensorRT-LLM's PyTorch executor runs it (`_executor_loop_pp` in
 * tensorrt_llm/_torch/pyexecutor/py_executor.py): pp micro-batches are in flight, each scheduled from the
 * requests no other micro-batch holds, and each flows through the pp stages in turn. A stage works on one
 * micro-batch at a time, so micro-batch m enters stage s when it has left stage s − 1 and micro-batch
 * m − 1 has left stage s; its tokens come out of the last stage. A micro-batch is scheduled again once its
 * previous tokens are back (the slot's last end). The predictor prices a micro-batch over the whole model
 * (every stage's layers and the hand-offs); the stages take their shares of it (stageSplit.ts: the predictor's
 * per-stage times, else equal shares). Bubbles appear when micro-batches differ in size or a slot has nothing to run.
 */
export class PipelineTiming implements PartitionTiming {
  private readonly stageFree: Float64Array;
  private readonly slotEnd: Float64Array;
  private iter = 0;
  private readonly stageMs: Float64Array;
  private readonly split: StageSplit;

  constructor(
    private readonly stages: number,
    slots: number,
    private readonly draftTokens = 0,
  ) {
    this.split = new StageSplit(stages);
    this.stageMs = new Float64Array(stages);
    this.stageFree = new Float64Array(stages);
    this.slotEnd = new Float64Array(slots);
  }

  reset(): void {
    this.stageFree.fill(0);
    this.slotEnd.fill(0);
    this.iter = 0;
  }

  private drafts: Int32Array = new Int32Array(0);

  private withDrafts(b: SimBatch): SimBatch {
    if (this.draftTokens === 0) return b;
    const n = b.numContext + b.numGeneration;
    if (this.drafts.length < n) this.drafts = new Int32Array(n).fill(this.draftTokens);
    return {
      numContext: b.numContext,
      numGeneration: b.numGeneration,
      inputLength: b.inputLength,
      pastKvLength: b.pastKvLength,
      numContextTokens: b.numContextTokens,
      draftTokens: this.drafts,
    };
  }

  async step(states: PartitionState[], ready: number[], predictor: BatchPredictor, measured: boolean): Promise<StepOutcome> {
    const out: StepOutcome = { iterations: 0, records: [], endMs: 0, prefill: 0, decode: 0, mixed: 0 };
    const S = this.stages;
    for (const p of ready) {
      const st = states[p]!;
      const b = st.batch!;
      const priced = this.withDrafts(b);
      const v = this.split.price(predictor, priced);
      this.split.split(checkedTime(isThenable(v) ? await v : v, predictor), this.stageMs);
      let t = Math.max(this.stageFree[0]!, this.slotEnd[p]!);
      for (let s = 0; s < S; s++) {
        t = Math.max(t, this.stageFree[s]!) + this.stageMs[s]!;
        this.stageFree[s] = t;
      }
      const dt = t - this.slotEnd[p]!;
      this.slotEnd[p] = t;
      st.sim!.commit(dt);
      if (measured) {
        for (const r of st.records) out.records.push(renumber(r, this.iter));
        out.iterations++;
        this.iter++;
        if (b.numContext > 0 && b.numGeneration > 0) out.mixed++;
        else if (b.numContext > 0) out.prefill++;
        else out.decode++;
      }
      st.records.length = 0;
      out.endMs = Math.max(out.endMs, t);
    }
    return out;
  }
}

const renumber = (r: IterationStats, iter: number): IterationStats => ({ ...r, iter });
