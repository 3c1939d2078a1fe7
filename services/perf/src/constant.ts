import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";

export interface ConstantParams {
  prefillMs: number;
  decodeMs: number;
  prefillScale: number;
  decodeScale: number;
}

/**
 * TensorRT-LLM PR #12700's constant predictor: prefill time when the batch has any context request
 * (mixed batches included), else decode time; scale factors apply.
 */
export class ConstantPredictor implements BatchPredictor {
  readonly description: string;
  private readonly prefill: number;
  private readonly decode: number;

  constructor(p: ConstantParams) {
    this.prefill = p.prefillMs * p.prefillScale;
    this.decode = p.decodeMs * p.decodeScale;
    this.description = `constant (prefill ${p.prefillMs} ms, decode ${p.decodeMs} ms)`;
  }

  predict(batch: SimBatch): number {
    return batch.numContext > 0 ? this.prefill : this.decode;
  }

  /** The times of a decode run (proto DecodeRun): the decode time at every step. */
  predictDecodeRun(_pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    if (count <= 0) throw new InvalidArgumentError("decode_run.past_kv_length", "at least one request is required");
    return new Array<number>(steps).fill(this.decode);
  }

  breakdown(batch: SimBatch): OpTime[] {
    const prefill = batch.numContext > 0;
    return [{ op: prefill ? "constant_prefill" : "constant_decode", source: "constant", ms: this.predict(batch) }];
  }
}
