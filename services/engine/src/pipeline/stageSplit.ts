import type { BatchPredictor, SimBatch } from "@servesim/core";

/**
 * How a micro-batch's time divides over the pipeline stages. TensorRT-LLM gives the stages contiguous layer ranges
 * (Mapping.pp_layers in tensorrt_llm/mapping.py: the first L mod pp stages one layer more), the first stage also
 * embeds, the last also runs the LM head and sampling, and every stage but the last sends its activations to the
 * next; so the stages take different times and the slowest sets the pipeline's period. A predictor that prices
 * each stage (BatchPredictor.predictStages, for as many stages as the pipeline has) answers the micro-batch's time
 * and its stage times together, embedded or over the predictor service alike; stage s then takes
 * deviceMs × stageMs[s] / Σ stageMs. Without them the stages share the time equally.
 */
export class StageSplit {
  private readonly ms: Float64Array;
  /** The last price() asked for stage times (they are in `ms` once its answer is in). */
  private staged = false;

  constructor(readonly stages: number) {
    this.ms = new Float64Array(stages);
  }

  /** Prices a micro-batch: with its stage times when the predictor prices this many stages. */
  price(predictor: BatchPredictor, batch: SimBatch): number | Promise<number> {
    this.staged = typeof predictor.predictStages === "function" && predictor.pipelineStages === this.stages;
    return this.staged ? predictor.predictStages!(batch, this.ms) : predictor.predict(batch);
  }

  /** Stage times, into `out`, of the micro-batch priced last, which took `deviceMs` over the whole model. */
  split(deviceMs: number, out: Float64Array): void {
    const staged = this.staged;
    this.staged = false;
    const ms = this.ms;
    let total = 0;
    if (staged) for (let s = 0; s < this.stages; s++) total += ms[s]!;
    if (!(total > 0) || !Number.isFinite(total)) {
      out.fill(deviceMs / this.stages);
      return;
    }
    for (let s = 0; s < this.stages; s++) out[s] = (deviceMs * ms[s]!) / total;
  }
}
