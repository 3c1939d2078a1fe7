import type { IterationStats } from "@servesim/core";
import { pyFloatRepr } from "./pyFormat.js";

/**
 * `--iteration_log` lines (written in tensorrt_llm/bench/benchmark/utils/processes.py). trtllm-bench writes each stats dict with
 * `f"{stats}"`, i.e. a Python dict repr. The dict comes from the C++ IterationStats serialised by
 * nlohmann::json, whose objects are std::maps, so keys are sorted at every level; we do the same.
 */
export type IterationLogFormat = "python" | "json";

/** IterationStats plus optional fields the engine may fill in later. */
export type IterationLogStats = IterationStats & { newActiveRequestsQueueLatencyMS?: number };

/** Marks a number that Python holds as a float (printed 10.0, not 10). */
class PyFloat {
  constructor(readonly value: number) {}
}
type PyValue = number | string | PyFloat | { [key: string]: PyValue };

const EPOCH_MS = Date.UTC(2000, 0, 1, 0, 0, 0);

/** Round half to even, as Python's datetime/timedelta do for microseconds. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `%m-%d-%Y %H:%M:%S.%f` of 01-01-2000 00:00:00 + simTimeMs. */
export function simTimestamp(simTimeMs: number): string {
  const micros = roundHalfEven(simTimeMs * 1000);
  const seconds = Math.floor(micros / 1e6);
  const d = new Date(EPOCH_MS + seconds * 1000);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const frac = String(micros - seconds * 1e6).padStart(6, "0");
  return (
    `${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}-${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${frac}`
  );
}

function statsDict(s: IterationLogStats): { [key: string]: PyValue } {
  const ifb = s.inflightBatchingStats;
  const kv = s.kvCacheStats;
  return {
    // Cluster jobs: the instance that ran the iteration (not a trtllm-bench key; single-engine logs omit it).
    ...(s.engine !== undefined ? { engine: s.engine } : {}),
    timestamp: simTimestamp(s.simTimeMs),
    iter: s.iter,
    iterLatencyMS: new PyFloat(s.iterLatencyMS),
    newActiveRequestsQueueLatencyMS: new PyFloat(s.newActiveRequestsQueueLatencyMS ?? 0),
    numNewActiveRequests: s.numNewActiveRequests,
    numActiveRequests: s.numActiveRequests,
    numQueuedRequests: s.numQueuedRequests,
    numCompletedRequests: s.numCompletedRequests,
    maxNumActiveRequests: s.maxNumActiveRequests,
    gpuMemUsage: 0,
    cpuMemUsage: 0,
    pinnedMemUsage: 0,
    kvCacheStats: {
      maxNumBlocks: kv.maxNumBlocks,
      freeNumBlocks: kv.freeNumBlocks,
      usedNumBlocks: kv.usedNumBlocks,
      tokensPerBlock: kv.tokensPerBlock,
      allocTotalBlocks: kv.allocTotalBlocks,
      allocNewBlocks: kv.allocNewBlocks,
      reusedBlocks: kv.reusedBlocks,
      missedBlocks: kv.missedBlocks,
      cacheHitRate: new PyFloat(kv.cacheHitRate),
    },
    staticBatchingStats: {},
    inflightBatchingStats: {
      numScheduledRequests: ifb.numScheduledRequests,
      numContextRequests: ifb.numContextRequests,
      numGenRequests: ifb.numGenRequests,
      numPausedRequests: ifb.numPausedRequests,
      numCtxTokens: ifb.numCtxTokens,
      microBatchId: 0,
      avgNumDecodedTokensPerIter: new PyFloat(0),
    },
  };
}

/** Python float repr; json.dumps spells non-finite values NaN / Infinity / -Infinity. */
function renderFloat(x: number, json: boolean): string {
  if (json && !Number.isFinite(x)) return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
  return pyFloatRepr(x);
}

function render(v: PyValue, json: boolean): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : renderFloat(v, json);
  if (v instanceof PyFloat) return renderFloat(v.value, json);
  if (typeof v === "string") return json ? JSON.stringify(v) : `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const q = json ? '"' : "'";
  const entries = Object.keys(v)
    .sort()
    .map((k) => `${q}${k}${q}: ${render(v[k]!, json)}`);
  return `{${entries.join(", ")}}`;
}

/**
 * One iteration-log line (no trailing newline): a Python dict repr (default) or the equivalent JSON
 * (same keys and order, `", "` / `": "` separators, floats as Python prints them).
 */
export function iterationLogLine(stats: IterationLogStats, format: IterationLogFormat = "python"): string {
  return render(statsDict(stats), format === "json");
}
