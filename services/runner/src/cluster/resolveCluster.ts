import { type DisaggFlow, type LinkOverrides, type PoolRole, type RouterChoice, resolveRouter, type SystemLinks } from "@servesim/cluster";
import { InvalidArgumentError } from "@servesim/core";
import type { Parallelism } from "@servesim/wire/predictor";
import { type ClusterSpec, FirstTokenSource, type JobSpec, type RouterConfig, type WorkerPool } from "@servesim/wire/scheduler";
import type { ResolvedJob } from "../resolveJob.js";

/** Most instances in one cluster job (every instance has its own engine state). */
export const MAX_CLUSTER_INSTANCES = 1024;

/** One pool of identical instances: each instance is `job` (its predictor config and engine options). */
export interface ResolvedPool {
  role: PoolRole;
  /** Label of the pool in reports: "aggregated", "aggregated group 1", "prefill", "decode". */
  label: string;
  count: number;
  /** The job every instance of the pool runs (the base spec with the pool's overrides). */
  job: ResolvedJob;
  /** GPUs of one instance: tp × pp. */
  gpus: number;
  router: RouterChoice;
}

export interface ResolvedCluster {
  mode: "aggregated" | "disaggregated";
  pools: ResolvedPool[];
  /** Aggregated: the router over every instance. */
  router: RouterChoice;
  /** Disaggregated: KV bytes one decode rank receives per prompt token (0 when the job names no model). */
  kvBytesPerTokenPerRank: number;
  /** Disaggregated: the system's link figures (undefined without a GPU) and the user's overrides. */
  links?: SystemLinks;
  linkOverrides: LinkOverrides;
  /** The request flow outside the engines (first-token source, frontend and hand-off costs). */
  flow: DisaggFlow;
  totalGpus: number;
  warnings: string[];
}

const F = "spec.cluster";

function checkPool(p: WorkerPool | undefined, field: string): WorkerPool {
  if (p === undefined) throw new InvalidArgumentError(field, "is required");
  if (!Number.isInteger(p.numWorkers) || p.numWorkers < 1 || p.numWorkers > MAX_CLUSTER_INSTANCES) {
    throw new InvalidArgumentError(`${field}.num_workers`, `must be an integer in [1, ${MAX_CLUSTER_INSTANCES}] (got ${p.numWorkers})`);
  }
  return p;
}

function routerOf(r: RouterConfig | undefined, field: string): RouterChoice {
  const weights = r?.weights ?? {};
  if (Object.keys(weights).length > 16) throw new InvalidArgumentError(`${field}.weights`, "at most 16 weights");
  return resolveRouter(r?.type ?? "", weights, field);
}

/** The pool's parallelism over the job predictor's: set fields (non-zero, or present) win. */
function mergeParallelism(base: Parallelism | undefined, over: Parallelism | undefined): Parallelism | undefined {
  if (over === undefined) return base;
  const out: Parallelism = { tp: over.tp || base?.tp || 0, pp: over.pp || base?.pp || 0, ep: over.ep || base?.ep || 0 };
  const moeTp = over.moeTp ?? base?.moeTp;
  if (moeTp !== undefined) out.moeTp = moeTp;
  const adp = over.attentionDp ?? base?.attentionDp;
  if (adp !== undefined) out.attentionDp = adp;
  return out;
}

/** The job spec one instance of a pool runs: the base spec with the pool's parallelism and engine limits. */
export function poolSpec(spec: JobSpec, p: WorkerPool): JobSpec {
  const { cluster: _cluster, ...rest } = spec;
  const engine = { ...(spec.engine ?? ({} as NonNullable<JobSpec["engine"]>)) };
  if (p.maxBatchSize !== undefined) engine.maxBatchSize = p.maxBatchSize;
  if (p.maxNumTokens !== undefined) engine.maxNumTokens = p.maxNumTokens;
  if (p.disableOverlapScheduler !== undefined) engine.disableOverlapScheduler = p.disableOverlapScheduler;
  if (p.kvCacheFreeGpuMemFraction !== undefined) engine.kvCacheFreeGpuMemFraction = p.kvCacheFreeGpuMemFraction;
  if (p.enableChunkedContext !== undefined) engine.enableChunkedContext = p.enableChunkedContext;
  if (p.speculative !== undefined) engine.speculative = p.speculative;
  const out: JobSpec = { ...rest, engine };
  if (spec.predictor) {
    const parallelism = mergeParallelism(spec.predictor.parallelism, p.parallelism);
    out.predictor = { ...spec.predictor, ...(parallelism ? { parallelism } : {}) };
  }
  return out;
}

const MAX_OVERHEAD_MS = 3_600_000;

function overheadMs(v: number | undefined, field: string): number {
  if (v === undefined) return 0;
  if (!(Number.isFinite(v) && v >= 0 && v <= MAX_OVERHEAD_MS)) {
    throw new InvalidArgumentError(`${F}.request_overheads.${field}`, `must be a number of ms in [0, ${MAX_OVERHEAD_MS}] (got ${v})`);
  }
  return v;
}

/** The request flow: TensorRT-LLM's disaggregated server streams the generation server's response. */
function resolveFlow(c: ClusterSpec, disagg: boolean): DisaggFlow {
  const ft = c.firstToken ?? FirstTokenSource.FIRST_TOKEN_SOURCE_UNSPECIFIED;
  if (!Object.values(FirstTokenSource).includes(ft) || ft === FirstTokenSource.UNRECOGNIZED) {
    throw new InvalidArgumentError(`${F}.first_token`, `unknown value ${String(ft)}`);
  }
  const o = c.requestOverheads;
  const handoffMs = overheadMs(o?.handoffMs, "handoff_ms");
  if (!disagg && (handoffMs > 0 || ft !== FirstTokenSource.FIRST_TOKEN_SOURCE_UNSPECIFIED)) {
    throw new InvalidArgumentError(
      handoffMs > 0 ? `${F}.request_overheads.handoff_ms` : `${F}.first_token`,
      "applies to disaggregated clusters only (prefill and decode pools)",
    );
  }
  return {
    firstToken: ft === FirstTokenSource.FIRST_TOKEN_SOURCE_CONTEXT ? "context" : "generation",
    frontendMs: overheadMs(o?.frontendMs, "frontend_ms"),
    handoffMs,
  };
}

/**
 * Validates spec.cluster and resolves every pool with `resolve` (resolveJob of the pool's spec, the
 * workload shared): the pools' predictors, engine settings and KV pools, the routers and the KV-transfer
 * figures.
 */
export async function resolveCluster(
  spec: JobSpec,
  c: ClusterSpec,
  resolve: (poolSpec: JobSpec, field: string, role: PoolRole) => Promise<ResolvedJob>,
): Promise<ResolvedCluster> {
  const disagg = c.prefill !== undefined || c.decode !== undefined;
  const aggregated = c.aggregated ?? [];
  if (disagg && aggregated.length > 0) throw new InvalidArgumentError(`${F}.aggregated`, "a cluster is aggregated or has prefill and decode pools, not both");
  if (!disagg && aggregated.length === 0) throw new InvalidArgumentError(F, "needs aggregated instances or prefill and decode pools");
  if (aggregated.length > 64) throw new InvalidArgumentError(`${F}.aggregated`, "at most 64 groups");
  const warnings: string[] = [];
  const pools: ResolvedPool[] = [];
  const add = async (role: PoolRole, label: string, p: WorkerPool, field: string, router: RouterChoice): Promise<void> => {
    const job = await resolve(poolSpec(spec, p), field, role);
    // A cluster instance is one EngineLoop: attention-DP ranks behind an AttentionDpLoop, pipeline stages
    // (with attention DP in every stage when both are on) behind a PipelineLoop, as for a single engine.
    pools.push({ role, label, count: p.numWorkers, job, gpus: job.predictor.tp * job.predictor.pp, router });
  };
  if (disagg) {
    if (c.router !== undefined) warnings.push("spec.cluster.router has no effect on a disaggregated cluster: each pool has its own router");
    const pf = checkPool(c.prefill, `${F}.prefill`);
    const df = checkPool(c.decode, `${F}.decode`);
    await add("prefill", "prefill", pf, `${F}.prefill`, routerOf(pf.router, `${F}.prefill.router`));
    await add("decode", "decode", df, `${F}.decode`, routerOf(df.router, `${F}.decode.router`));
  } else {
    for (let i = 0; i < aggregated.length; i++) {
      const g = checkPool(aggregated[i], `${F}.aggregated[${i}]`);
      if (g.router !== undefined) warnings.push(`${F}.aggregated[${i}].router has no effect: spec.cluster.router places arrivals on every aggregated instance`);
      await add("aggregated", aggregated.length > 1 ? `aggregated group ${i}` : "aggregated", g, `${F}.aggregated[${i}]`, routerOf(undefined, F));
    }
  }
  const total = pools.reduce((s, p) => s + p.count, 0);
  if (total > MAX_CLUSTER_INSTANCES) throw new InvalidArgumentError(F, `has ${total} instances; at most ${MAX_CLUSTER_INSTANCES}`);
  const tpb = new Set(pools.map((p) => p.job.engine.tokensPerBlock));
  if (tpb.size > 1) throw new InvalidArgumentError(F, "every pool must use the same tokens_per_block");
  const out: ResolvedCluster = {
    mode: disagg ? "disaggregated" : "aggregated",
    pools,
    router: routerOf(c.router, `${F}.router`),
    kvBytesPerTokenPerRank: 0,
    linkOverrides: {},
    flow: resolveFlow(c, disagg),
    totalGpus: pools.reduce((s, p) => s + p.count * p.gpus, 0),
    warnings,
  };
  if (disagg) {
    const kt = c.kvTransfer;
    if (kt?.bandwidthBytesPerS !== undefined) {
      if (!(Number.isFinite(kt.bandwidthBytesPerS) && kt.bandwidthBytesPerS > 0)) {
        throw new InvalidArgumentError(`${F}.kv_transfer.bandwidth_bytes_per_s`, `must be a finite number > 0 (got ${kt.bandwidthBytesPerS})`);
      }
      out.linkOverrides.bandwidth = kt.bandwidthBytesPerS;
    }
    if (kt?.latencyMs !== undefined) {
      if (!(Number.isFinite(kt.latencyMs) && kt.latencyMs >= 0))
        throw new InvalidArgumentError(`${F}.kv_transfer.latency_ms`, `must be a finite number >= 0 (got ${kt.latencyMs})`);
      out.linkOverrides.latencyMs = kt.latencyMs;
    }
    const decode = pools.find((p) => p.role === "decode")!.job;
    const bytes = decode.settings.kvCapacity?.kvBytesPerToken;
    if (bytes !== undefined) out.kvBytesPerTokenPerRank = bytes;
    else warnings.push("the KV transfer moves no bytes: the job names no model and GPU whose KV size is known (only the fixed latency counts)");
    const gpu = decode.predictor.gpu;
    if (gpu) out.links = gpu;
    else if (out.linkOverrides.bandwidth === undefined)
      warnings.push("the KV-transfer links are unknown without a GPU: set spec.cluster.kv_transfer.bandwidth_bytes_per_s");
  }
  return out;
}
