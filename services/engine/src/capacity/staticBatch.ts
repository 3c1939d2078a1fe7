import type { EngineConfig } from "../engineConfig.js";
import { ceilDiv } from "../engineConfig.js";
import type { KvCacheManager } from "../kvCacheManager.js";
import type { RequestTable } from "../requestTable.js";
import type { CapacityPolicyDef } from "./capacityPolicy.js";
import { NoEvictScheduler } from "./guaranteedNoEvict.js";

/**
 * STATIC_BATCH (`StaticBatchScheduler` in cpp/tensorrt_llm/batch_manager/capacityScheduler.cpp): the
 * GUARANTEED_NO_EVICT reservation, but a new batch is only formed once every request of the previous
 * one has finished. No prefix-cache skipping.
 */
export const staticBatch = {
  name: "static_batch",
  trtllmName: "STATIC_BATCH",
  description: "form a new batch only when the previous one has finished; reserve KV to completion",
  reservation: "to_completion",
  skipsCachedPrefixes: false,
  decodeRunSafe: true,
  blocksToServe: (p: number, n: number, tpb: number) => ceilDiv(p + n, tpb),
  blocksToServeNote: "",
  create: (cfg: EngineConfig, t: RequestTable, kv: KvCacheManager) => new NoEvictScheduler(cfg, t, kv, true, false),
} as const satisfies CapacityPolicyDef;
