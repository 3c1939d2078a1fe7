import type { EngineConfig } from "./engineConfig.js";
import { type RequestTable, ST_CONTEXT, ST_GENERATION } from "./requestTable.js";

/**
 * The micro-batch scheduler (`MicroBatchScheduler` in cpp/tensorrt_llm/batch_manager/microBatchScheduler.cpp): applies the max_batch_size and max_num_tokens
 * budgets to the capacity scheduler's output and sizes context chunks. Output: `context` (chunk sizes in
 * table.chunk) and `generation`, in the order the batch is built.
 */
export class MicroBatchScheduler {
  readonly context: Int32Array;
  contextCount = 0;
  readonly generation: Int32Array;
  generationCount = 0;
  private readonly toChunk: Int32Array;
  private readonly scratch: Int32Array;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly t: RequestTable,
  ) {
    this.context = new Int32Array(cfg.maxBatchSize);
    this.generation = new Int32Array(cfg.maxBatchSize);
    this.toChunk = new Int32Array(cfg.maxBatchSize);
    this.scratch = new Int32Array(cfg.maxBatchSize);
  }

  schedule(fitting: Int32Array, count: number): void {
    const t = this.t;
    const { maxBatchSize, maxNumTokens, chunking, genTokens } = this.cfg;
    const maxContextLength = maxNumTokens;
    const context = this.context;
    const generation = this.generation;
    const toChunk = this.toChunk;
    let nCtx = 0;
    let nGen = 0;
    let nChunk = 0;
    let batchTokens = 0;
    let chunkTokens = 0;
    let allFit = true;
    let scheduled = 0;
    const state = t.state;
    for (let i = 0; i < count; i++) {
      const r = fitting[i]!;
      const st = state[r];
      if (st === ST_CONTEXT) {
        if (chunking === null) {
          const tokens = t.promptLen[r]! + t.genSincePrompt[r]!;
          if (tokens > maxContextLength) {
            throw new Error(`context of ${tokens} tokens exceeds max_num_tokens ${maxNumTokens}: request should have been rejected`);
          }
          if (batchTokens + tokens > maxNumTokens) break;
          t.chunk[r] = t.promptLen[r]! - t.pos[r]!;
          context[nCtx++] = r;
          batchTokens += tokens;
        } else {
          const remaining = t.promptLen[r]! - t.pos[r]!;
          t.chunk[r] = remaining;
          let tokens = remaining;
          if (tokens > maxContextLength) {
            tokens = maxContextLength;
            allFit = false;
          }
          toChunk[nChunk++] = r;
          chunkTokens += tokens;
        }
      } else if (st === ST_GENERATION) {
        // A generation request verifies its draft tokens too (speculative decoding): 1 + drafts tokens.
        if (batchTokens + genTokens > maxNumTokens) break;
        generation[nGen++] = r;
        batchTokens += genTokens;
      } else {
        continue;
      }
      if (++scheduled >= maxBatchSize) break;
    }
    if (chunking !== null && nChunk > 0) {
      if (chunkTokens > maxNumTokens - batchTokens) allFit = false;
      if (!allFit) {
        const capacity = maxNumTokens - batchTokens;
        chunking.assign(t, toChunk, nChunk, capacity, maxContextLength, this.cfg.chunkUnit);
      }
      for (let i = 0; i < nChunk; i++) {
        const r = toChunk[i]!;
        const c = t.chunk[r]!;
        if (c > 0) {
          context[nCtx++] = r;
          batchTokens += c;
        }
      }
      if (!allFit) nCtx = this.lastChunksLast(nCtx);
    }
    this.contextCount = nCtx;
    this.generationCount = nGen;
  }

  /** When not all contexts fit (`utils::sortRequests` called by the micro-batch scheduler): contexts not on their last chunk first, last chunks at the end (stable). */
  private lastChunksLast(nCtx: number): number {
    const t = this.t;
    const context = this.context;
    const scratch = this.scratch;
    let k = 0;
    let m = 0;
    for (let i = 0; i < nCtx; i++) {
      const r = context[i]!;
      if (t.pos[r]! + t.chunk[r]! === t.promptLen[r]) scratch[m++] = r;
      else context[k++] = r;
    }
    for (let i = 0; i < m; i++) context[k++] = scratch[i]!;
    return k;
  }
}
