import { type PercentileStats, percentileStatsInPlace } from "@servesim/core";
import type { ClusterResult, EngineStats, PoolRole } from "./clusterSim.js";
import type { KvLink } from "./kvTransfer.js";

/** What the report says about a pool besides the run's figures. */
export interface PoolDescription {
  role: PoolRole;
  label: string;
  instances: number;
  gpusPerInstance: number;
  /** "TP4 EP4 attention-DP", "TP8". */
  parallelism: string;
  maxBatchSize: number;
  maxNumTokens: number;
  /** Router name and weights, e.g. "kv_aware (prefix 1, kv_load 1, active 0)". */
  router: string;
}

export interface ClusterDescription {
  mode: "aggregated" | "disaggregated";
  pools: PoolDescription[];
  totalGpus: number;
  /** Disaggregated: the link classes used, and the KV bytes per prompt token per decode rank. */
  links?: KvLink[];
  kvBytesPerTokenPerRank?: number;
}

const stats = (xs: Float64Array, pick?: (i: number) => boolean): PercentileStats & { count: number } => {
  const kept: number[] = [];
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i]!) && (pick === undefined || pick(i))) kept.push(xs[i]!);
  return { ...percentileStatsInPlace(Float64Array.from(kept)), count: kept.length };
};

const utilisation = (busyMs: number, makespanMs: number): number => (makespanMs > 0 ? busyMs / makespanMs : 0);

const statsJson = (s: PercentileStats & { count: number }) => ({
  count: s.count,
  average: s.average,
  p50: s.p50,
  p90: s.p90,
  p99: s.p99,
  maximum: s.maximum,
});

function instanceJson(e: EngineStats, makespan: number) {
  return {
    name: e.name,
    role: e.role,
    gpus: e.gpus,
    requests: e.requests,
    iterations: e.iterations,
    prefill_iterations: e.prefillIterations,
    decode_iterations: e.decodeIterations,
    mixed_iterations: e.mixedIterations,
    busy_ms: e.busyMs,
    utilization: utilisation(e.busyMs, makespan),
    context_tokens: e.contextTokens,
    generated_tokens: e.generatedTokens,
    peak_active_requests: e.peakActive,
    peak_kv_blocks: e.peakKvBlocks,
    kv_total_blocks: e.kvTotalBlocks,
  };
}

/** The per-pool queueing figures: where requests waited at each stage. */
function poolStages(r: ClusterResult, role: PoolRole) {
  const s = r.stages;
  if (role === "prefill" || role === "aggregated") return { admit_wait_ms: statsJson(stats(s.admitWaitMs)) };
  return {
    kv_capacity_wait_ms: statsJson(stats(s.decodeWaitMs)),
    kv_transfer_ms: statsJson(stats(s.transferMs)),
    first_decode_step_ms: statsJson(stats(s.decodeFirstStepMs)),
  };
}

/** report.json's `cluster` key. */
export function clusterReportJson(d: ClusterDescription, r: ClusterResult): Record<string, unknown> {
  const makespan = r.simulatedMs;
  const pools = d.pools.map((p) => {
    const engines = r.engines.filter((e) => e.pool === p.label);
    const busy = engines.reduce((s, e) => s + e.busyMs, 0);
    return {
      name: p.label,
      role: p.role,
      instances: p.instances,
      gpus_per_instance: p.gpusPerInstance,
      parallelism: p.parallelism,
      max_batch_size: p.maxBatchSize,
      max_num_tokens: p.maxNumTokens,
      router: p.router,
      requests: engines.reduce((s, e) => s + e.requests, 0),
      iterations: engines.reduce((s, e) => s + e.iterations, 0),
      utilization: engines.length > 0 ? utilisation(busy / engines.length, makespan) : 0,
      ...poolStages(r, p.role),
    };
  });
  const out: Record<string, unknown> = {
    mode: d.mode,
    total_gpus: d.totalGpus,
    simulated_ms: makespan,
    pools,
    instances: r.engines.map((e) => instanceJson(e, makespan)),
  };
  if (d.mode === "disaggregated") {
    out["kv_transfer"] = {
      bytes_per_token_per_decode_rank: d.kvBytesPerTokenPerRank ?? 0,
      links: (d.links ?? []).map((l) => ({ kind: l.kind, bandwidth_bytes_per_s: l.bandwidth, latency_ms: l.latencyMs })),
      time_ms: statsJson(stats(r.stages.transferMs)),
    };
  }
  return out;
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : "-");
const pad = (s: string, w: number): string => s.padEnd(w);
const lpad = (s: string, w: number): string => s.padStart(w);

/** The text report's CLUSTER section (appended after trtllm-bench's sections). */
export function clusterReportText(d: ClusterDescription, r: ClusterResult): string {
  const j = clusterReportJson(d, r);
  const L: string[] = [];
  const bar = "=".repeat(60);
  L.push(bar, "= CLUSTER", bar);
  const shape = d.pools
    .map(
      (p) =>
        `${p.instances} ${p.role === "aggregated" ? "instance" : `${p.role} worker`}${p.instances === 1 ? "" : "s"} × ${p.gpusPerInstance} GPU${p.gpusPerInstance === 1 ? "" : "s"}`,
    )
    .join(", ");
  L.push(`Mode:                    ${d.mode} (${shape}; ${d.totalGpus} GPUs)`);
  for (const p of d.pools) {
    L.push(
      `${pad(`${p.label[0]!.toUpperCase()}${p.label.slice(1)}:`, 25)}${p.parallelism}, max_batch_size ${p.maxBatchSize}, max_num_tokens ${p.maxNumTokens}, router ${p.router}`,
    );
  }
  if (d.mode === "disaggregated") {
    const kt = j["kv_transfer"] as { time_ms: ReturnType<typeof statsJson> };
    const links = [...new Map((d.links ?? []).map((l) => [`${l.kind}|${l.bandwidth}|${l.latencyMs}`, l])).values()];
    L.push(
      `KV transfer:             ${links.map((l) => `${l.kind} ${f(l.bandwidth / 1e9, 1)} GB/s per GPU + ${f(l.latencyMs, 3)} ms`).join("; ") || "-"}; ${Math.round(d.kvBytesPerTokenPerRank ?? 0)} B per prompt token per decode rank`,
    );
    L.push(
      `KV transfer time (ms):   avg ${f(kt.time_ms.average, 3)}  p50 ${f(kt.time_ms.p50, 3)}  p90 ${f(kt.time_ms.p90, 3)}  p99 ${f(kt.time_ms.p99, 3)}  max ${f(kt.time_ms.maximum, 3)}`,
    );
  }
  L.push("", "-- Pools (waits in ms: avg / p50 / p99) --");
  for (const p of j["pools"] as Array<Record<string, unknown>>) {
    const w = (k: string): string => {
      const s = p[k] as ReturnType<typeof statsJson> | undefined;
      return s ? `${f(s.average)} / ${f(s.p50)} / ${f(s.p99)}` : "-";
    };
    const head = `${pad(String(p["name"]), 10)} utilisation ${lpad(f(100 * Number(p["utilization"]), 1), 5)} %, ${p["requests"]} requests, ${p["iterations"]} iterations`;
    if (p["role"] === "decode") L.push(`${head}; wait for KV capacity ${w("kv_capacity_wait_ms")}; first decode step ${w("first_decode_step_ms")}`);
    else L.push(`${head}; admission wait ${w("admit_wait_ms")}`);
  }
  L.push("", "-- Instances --");
  L.push(
    `${pad("instance", 14)}${lpad("GPUs", 5)}${lpad("requests", 10)}${lpad("iterations", 12)}${lpad("busy s", 10)}${lpad("util %", 8)}${lpad("peak active", 13)}${lpad("peak KV blocks", 16)}`,
  );
  for (const e of r.engines) {
    L.push(
      `${pad(e.name, 14)}${lpad(String(e.gpus), 5)}${lpad(String(e.requests), 10)}${lpad(String(e.iterations), 12)}${lpad(f(e.busyMs / 1000, 3), 10)}${lpad(f(100 * utilisation(e.busyMs, r.simulatedMs), 1), 8)}${lpad(String(e.peakActive), 13)}${lpad(`${e.peakKvBlocks}/${e.kvTotalBlocks}`, 16)}`,
    );
  }
  L.push(bar, "");
  return L.join("\n");
}
