import type { RequestTable } from "../requestTable.js";

/**
 * A context-chunking policy (TensorRT-LLM `ContextChunkingPolicy`; `MicroBatchScheduler::setCtxRequestsChunkSize`
 * in cpp/tensorrt_llm/batch_manager/microBatchScheduler.cpp): when the contexts of an iteration do not all fit
 * the token budget, how the budget is shared among them. One file per policy, registered in
 * chunking/registry.ts; the proto enum ChunkingPolicy is checked against the registry by a test.
 */
export interface ChunkingPolicyDef {
  /** snake_case name (EngineOptions.chunking, the CLI, the Python client). */
  readonly name: string;
  /** TensorRT-LLM's enum name (`context_chunking_policy` in the LLM API YAML; the proto enum's suffix). */
  readonly trtllmName: string;
  readonly description: string;
  /**
   * Sets `table.chunk[r]` for each request of `toChunk[0..n)` (in scheduling order) so that the chunks sum
   * to at most `capacity` tokens, none exceeds `maxContextLength`, and a chunk that is not a request's
   * remainder is a multiple of `unit`. A request may get 0 (it waits).
   */
  assign(table: RequestTable, toChunk: Int32Array, n: number, capacity: number, maxContextLength: number, unit: number): void;
}
