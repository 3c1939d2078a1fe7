import type { BatchPredictor, SimBatch } from "@servesim/core";

/**
 * How a micro-batch's time divides over the pipeline stages. TensorRT-LLM gives the stages contiguous layer ranges
 * (Mapping.pp_layers in tensorrt_llm/mapping.py: the first L mod pp stages one layer more), the first stage also
 * embeds, the last also runs the LM head and sampling, and every stage but the last sends its activations to the
 * next; so the stages take different times and the slowest sets the pipeline's period. A predictor that prices
 * each stage (BatchPredictor.stageMs, for as many stages as the pipeline has) sets the proportions: stage s takes
 * deviceMs × stageMs(s) / Σ stageMs of the micro-batch. Without one the stages share the time equally.
 */
export class StageSplit {
  private readonly ms: Float64Array;

  constructor(
    private readonly predictor: BatchPredictor & { stageMs(batch: SimBatch, stage: number): number },
    readonly stages: number,
  ) {
    this.ms = new Float64Array(stages);
  }

  /** Stage times of a micro-batch that takes `deviceMs` over the whole model, into `out`. */
  split(batch: SimBatch, deviceMs: number, out: Float64Array): void {
    const ms = this.ms;
    let total = 0;
    for (let s = 0; s < this.stages; s++) {
      const v = this.predictor.stageMs(batch, s);
      ms[s] = v;
      total += v;
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      out.fill(deviceMs / this.stages);
      return;
    }
    for (let s = 0; s < this.stages; s++) out[s] = (deviceMs * ms[s]!) / total;
  }
}

/** The predictor's stage split for a pipeline of `stages` (null: it does not price stages, or not that many). */
export function stageSplitOf(predictor: BatchPredictor, stages: number): StageSplit | null {
  if (typeof predictor.stageMs !== "function" || predictor.pipelineStages !== stages) return null;
  return new StageSplit(predictor as BatchPredictor & { stageMs(batch: SimBatch, stage: number): number }, stages);
}

/** Stage times: the split's, or deviceMs / stages each. */
export function stageTimes(split: StageSplit | null, batch: SimBatch, deviceMs: number, out: Float64Array): void {
  if (split === null) out.fill(deviceMs / out.length);
  else split.split(batch, deviceMs, out);
}
