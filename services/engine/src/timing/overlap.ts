import { ST_CONTEXT, ST_TO_COMPLETE } from "../requestTable.js";
import type { TimingDef, TimingHost, TimingStrategy } from "./timingStrategy.js";

/**
 * TensorRT-LLM's overlap scheduler (`PyExecutor._executor_loop_overlap` in
 * tensorrt_llm/_torch/pyexecutor/py_executor.py): batch i is scheduled and launched while batch i-1 is
 * still on the device, i.e. at batch i-1's start. Committing batch i launches it (chunk progress, token
 * counts, GENERATION_TO_COMPLETE for the requests whose last token it computes) and only then processes
 * batch i-1 (`_process_previous_batch`): its completed prompts are stored for reuse, its finished
 * requests leave active_requests and free their KV, at batch i-1's end. Tokens are still stamped with
 * the end of the batch that computed them. When nothing can be scheduled, the batch in flight is
 * processed at its end (a drain) and the loop goes on.
 */
export class OverlapTiming implements TimingStrategy {
  readonly name = "overlap";
  readonly finishingState = ST_TO_COMPLETE;
  readonly schedulesAtBatchStart = true;
  /** The launched batch not yet processed (-1: none). */
  private inflightIter = -1;
  /** GENERATION_TO_COMPLETE requests, freed when the batch in flight is processed. */
  private finishing = 0;
  /** Requests whose prompt completed in the batch in flight; their blocks are stored when it is processed. */
  private readonly pendingStore: Int32Array;
  private pendingStoreCount = 0;

  constructor(private readonly host: TimingHost) {
    this.pendingStore = new Int32Array(host.kv.hasTracked ? host.maxBatchSize : 0);
  }

  scheduleTimeMs(): number {
    const ledger = this.host.ledger;
    return this.inflightIter >= 0 ? ledger.lastStartMs : ledger.clock;
  }
  inFlight(): boolean {
    return this.inflightIter >= 0;
  }
  blocksDecodeRun(): boolean {
    return this.finishing > 0 || this.pendingStoreCount > 0;
  }
  beforeCommit(): void {
    this.drain();
  }
  promptCompleted(r: number): void {
    if (this.host.table.tracked[r] === 1) this.pendingStore[this.pendingStoreCount++] = r;
  }
  launched(last: number, completed: number): void {
    this.finishing = completed;
    this.inflightIter = last;
  }
  completedAt(_iter: number, _completed: number): void {}
  nowIteration(): number {
    return this.inflightIter >= 0 ? this.inflightIter - 1 : this.host.ledger.iterations - 1;
  }

  /**
   * `_process_previous_batch` for the batch in flight: the prompts it completed are stored for reuse
   * (update_resources), then the requests it finished leave active_requests and free their KV
   * (handle_responses), ending at that batch's end.
   */
  drain(): boolean {
    const iter = this.inflightIter;
    if (iter < 0) return false;
    this.inflightIter = -1;
    if (this.pendingStoreCount > 0) {
      const { table: t, kv } = this.host;
      for (let i = 0; i < this.pendingStoreCount; i++) {
        const r = this.pendingStore[i]!;
        // A request paused since (MAX_UTILIZATION) has released, and stored, its blocks already.
        if (t.held[r]! > 0 && t.state[r] !== ST_CONTEXT) kv.storeContextBlocks(r);
      }
      this.pendingStoreCount = 0;
    }
    if (this.finishing > 0) {
      this.finishing = 0;
      this.host.finishCompleted(iter, ST_TO_COMPLETE);
    }
    return true;
  }
}

export const overlap: TimingDef = {
  name: "overlap",
  description: "the next batch is scheduled while the previous one runs on the device (PyExecutor._executor_loop_overlap)",
  create: (host) => new OverlapTiming(host),
  // The host works on iteration i+1 (and i−1's outputs) while the GPU runs iteration i: the longer one shows.
  wallMs: (hostMs, deviceMs) => Math.max(hostMs, deviceMs),
};
