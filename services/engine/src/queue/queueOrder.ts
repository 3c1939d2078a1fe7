import type { RequestTable } from "../requestTable.js";

/**
 * The waiting queue between submission and activation (PyExecutor's request queue; activation takes
 * requests up to max_num_active_requests). The order decides who is activated first; the capacity
 * policy then sees active requests in activation order.
 */
export interface WaitingQueue {
  readonly size: number;
  push(r: number): void;
  /** Removes and returns the next request to activate (size > 0). */
  shift(): number;
  clear(): void;
}

/**
 * A queue order, registered in queue/registry.ts. `create` receives the request table so an order can
 * read per-request fields (a priority order would read a priority column there).
 */
export interface QueueOrderDef {
  readonly name: string;
  readonly description: string;
  create(table: RequestTable, initialCapacity: number): WaitingQueue;
}
