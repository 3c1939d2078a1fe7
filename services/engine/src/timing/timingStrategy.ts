import type { KvCacheManager } from "../kvCacheManager.js";
import type { TimeLedger } from "../loop/timeLedger.js";
import type { RequestTable } from "../requestTable.js";

/** What a timing strategy may touch in the engine it times. */
export interface TimingHost {
  readonly table: RequestTable;
  readonly kv: KvCacheManager;
  readonly ledger: TimeLedger;
  readonly maxBatchSize: number;
  /** Requests in `finishingState` leave active_requests in active order and free their KV (end of iteration `iter`). */
  finishCompleted(iter: number, finishingState: number): void;
}

/**
 * How iterations follow each other in time: when the host schedules the next batch relative to the
 * batch on the device and when a finished request's resources are released. One file per strategy, registered in timing/registry.ts.
 *
 * The engine calls these hooks at fixed points of its loop; a strategy keeps whatever state it needs
 * (the overlap strategy keeps the batch in flight).
 */
export interface TimingStrategy {
  readonly name: string;
  /** Time at which the next schedule runs, i.e. which submitted requests it can see. */
  scheduleTimeMs(): number;
  /** A launched batch still awaits processing (its finished requests still hold their slots and KV). */
  inFlight(): boolean;
  /** Processes the batch in flight, if any (the host waits for it); false when there was none. */
  drain(): boolean;
  /** Processing the batch in flight may change the next schedule: no decode run can start now. */
  blocksDecodeRun(): boolean;
  /** The state a request takes when a committed iteration computes its last token. */
  readonly finishingState: number;
  /** A batch is about to be committed (before its tokens are counted). */
  beforeCommit(): void;
  /** Request `r`'s prompt completed in the batch being committed. */
  promptCompleted(r: number): void;
  /** Iterations through `last` were committed; `completed` requests reached finishingState at `last`. */
  launched(last: number, completed: number): void;
  /** Iteration `iter` completed `completed` > 0 requests (called in iteration order, before its record). */
  completedAt(iter: number, completed: number): void;
  /** The iteration at whose end a request that fails while a batch is being built ends (-1: the start). */
  nowIteration(): number;
  /**
   * Whether the next batch is scheduled at the start of the previous batch (true: overlap) or at its end.
   * A decode run committed with arrivals in time ends at the first iteration whose schedule sees one.
   */
  readonly schedulesAtBatchStart: boolean;
}

/**
 * A loop: its scheduling semantics (`create`) and how it turns an iteration's host and device time into
 * wall time (`wallMs`), which the host/device timing (hostDeviceTiming.ts) applies to the predictor's
 * device times. The engine's clock advances by the times it is given (wall times).
 */
export interface TimingDef {
  readonly name: string;
  readonly description: string;
  create(host: TimingHost): TimingStrategy;
  /** Wall time of an iteration whose host work takes `hostMs` and whose kernels take `deviceMs`. */
  wallMs(hostMs: number, deviceMs: number): number;
}
