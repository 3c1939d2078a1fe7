import { ST_COMPLETE } from "../requestTable.js";
import type { TimingDef, TimingHost, TimingStrategy } from "./timingStrategy.js";

/**
 * TensorRT-LLM's non-overlap loop (`PyExecutor._executor_loop` in
 * tensorrt_llm/_torch/pyexecutor/py_executor.py): schedule, launch, wait for the batch, update requests
 * and free finished ones, then schedule again. Each iteration starts when the previous one ends and
 * takes its device time.
 */
export class NonOverlapTiming implements TimingStrategy {
  readonly name = "non_overlap";
  readonly finishingState = ST_COMPLETE;
  readonly schedulesAtBatchStart = false;

  constructor(private readonly host: TimingHost) {}

  scheduleTimeMs(): number {
    return this.host.ledger.clock;
  }
  inFlight(): boolean {
    return false;
  }
  drain(): boolean {
    return false;
  }
  blocksDecodeRun(): boolean {
    return false;
  }
  beforeCommit(): void {}
  promptCompleted(r: number): void {
    this.host.kv.storeContextBlocks(r);
  }
  launched(_last: number, _completed: number): void {}
  completedAt(iter: number, _completed: number): void {
    this.host.finishCompleted(iter, ST_COMPLETE);
  }
  nowIteration(): number {
    return this.host.ledger.iterations - 1;
  }
}

export const nonOverlap: TimingDef = {
  name: "non_overlap",
  description: "the host waits for each batch before scheduling the next (PyExecutor._executor_loop)",
  create: (host) => new NonOverlapTiming(host),
  // The host prepares the batch, the GPU runs it, the host processes its outputs: in turn.
  wallMs: (hostMs, deviceMs) => hostMs + deviceMs,
};
