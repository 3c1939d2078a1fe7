import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";

/**
 * A predictor seen through speculative decoding: every entry of a batch carries the step's draft tokens
 * (SimBatch.draftTokens), so the predictor prices the target's 1 + D tokens per generation request and
 * the draft layers' chain. TensorRT-LLM proposes max_draft_len drafts every step whatever was accepted
 * before; a context entry's last chunk runs the chain that proposes its first drafts.
 */
export class DraftTokensPredictor implements BatchPredictor {
  private drafts = new Int32Array(0);

  constructor(
    private readonly inner: BatchPredictor,
    private readonly maxDraftLen: number,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  get maxInFlight(): number | undefined {
    return this.inner.maxInFlight;
  }

  private view(b: SimBatch): SimBatch {
    const n = b.numContext + b.numGeneration;
    if (this.drafts.length < n) this.drafts = new Int32Array(Math.max(n, 2 * this.drafts.length)).fill(this.maxDraftLen);
    const v: SimBatch = {
      numContext: b.numContext,
      numGeneration: b.numGeneration,
      inputLength: b.inputLength,
      pastKvLength: b.pastKvLength,
      numContextTokens: b.numContextTokens,
      draftTokens: this.drafts,
    };
    if (b.attentionDpRank) v.attentionDpRank = b.attentionDpRank;
    return v;
  }

  predict(b: SimBatch): number | Promise<number> {
    return this.inner.predict(this.view(b));
  }

  get pipelineStages(): number | undefined {
    return typeof this.inner.predictStages === "function" ? this.inner.pipelineStages : undefined;
  }

  predictStages(b: SimBatch, stageMs: Float64Array): number | Promise<number> {
    if (!this.inner.predictStages) throw new Error(`predictor "${this.inner.description}" does not price pipeline stages`);
    return this.inner.predictStages(this.view(b), stageMs);
  }

  breakdown(b: SimBatch): OpTime[] | Promise<OpTime[]> {
    if (!this.inner.breakdown) throw new Error(`predictor "${this.inner.description}" has no breakdown`);
    return this.inner.breakdown(this.view(b));
  }

  close(): void | Promise<void> {
    return this.inner.close?.();
  }
}
