import {
  type ClusterDescription,
  type ClusterEngine,
  type ClusterPool,
  type ClusterResult,
  ClusterSim,
  clusterReportJson,
  clusterReportText,
  createRouter,
  type KvLink,
  linkBetween,
  type PoolDescription,
  placeWorkers,
} from "@servesim/cluster";
import { type BatchPredictor, InvalidArgumentError, type IterationStats, type SimulationResult } from "@servesim/core";
import {
  createAttentionDpLoop,
  createEngineLoop,
  createPipelineLoop,
  DraftTokensPredictor,
  type EngineLoop,
  planArrivals,
  withHostDeviceTiming,
} from "@servesim/engine";
import { buildReportJson, computeMetrics, renderTextReport } from "@servesim/report";
import type { PredictorConfig } from "@servesim/wire/predictor";
import { reportInput } from "../reportInput.js";
import type { ResolvedJob } from "../resolveJob.js";
import type { JobOutcome, RunJobOptions } from "../runJob.js";
import type { ResolvedCluster, ResolvedPool } from "./resolveCluster.js";

/** Opens the predictor of one pool's config (embedded: createPredictor; remote: a predictor-service stream). */
export type ConnectPredictor = (config: PredictorConfig) => Promise<BatchPredictor>;

const instanceName = (p: ResolvedPool, k: number): string => `${p.role === "aggregated" ? "instance" : p.role}[${k}]`;

function parallelismText(p: ResolvedPool): string {
  const pr = p.job.predictor;
  const parts = [`TP${pr.tp}`];
  if (pr.pp > 1) parts.push(`PP${pr.pp}`);
  if (pr.ep > 1) parts.push(`EP${pr.ep}`);
  if (pr.config.parallelism?.attentionDp) parts.push("attention DP");
  return parts.join(" ");
}

const routerText = (p: { entry: { name: string }; weights: Record<string, number> }): string => {
  const w = Object.entries(p.weights);
  return w.length > 0 ? `${p.entry.name} (${w.map(([k, v]) => `${k} ${v}`).join(", ")})` : p.entry.name;
};

/** One SimulationResult for the whole cluster (trtllm-bench's report reads it). */
function clusterSimulationResult(r: ClusterResult, first: ResolvedJob): SimulationResult {
  const sum = (k: "prefillIterations" | "decodeIterations" | "mixedIterations") => r.engines.reduce((s, e) => s + e[k], 0);
  return {
    requests: r.records,
    numIterations: r.numIterations,
    numPrefillIterations: sum("prefillIterations"),
    numDecodeIterations: sum("decodeIterations"),
    numMixedIterations: sum("mixedIterations"),
    numPaused: r.records.reduce((s, x) => s + x.pausedCount, 0),
    simulatedMs: r.simulatedMs,
    numBlocks: r.engines.reduce((s, e) => s + e.kvTotalBlocks, 0),
    tokensPerBlock: first.engine.tokensPerBlock,
    reusedBlocks: 0,
    missedBlocks: 0,
    numFailed: r.numFailed,
  };
}

/**
 * Runs a cluster job: one EngineLoop per instance (each pool's engine settings), one predictor per pool
 * (shared by its instances), the arrivals of the job's engine settings applied to the whole cluster.
 * The outcome carries trtllm-bench's report over every request plus the cluster section; metrics per GPU
 * count every GPU of the cluster.
 */
export async function runResolvedClusterJob(
  job: ResolvedJob,
  cluster: ResolvedCluster,
  connect: ConnectPredictor,
  opts: RunJobOptions = {},
): Promise<JobOutcome> {
  const started = performance.now();
  const opened: BatchPredictor[] = [];
  // Each pool's predictor prices device time; its engine profile's timing model makes it wall time.
  const predictors: BatchPredictor[] = [];
  try {
    for (const p of cluster.pools) {
      const raw = await connect(p.job.predictor.config);
      opened.push(raw);
      // Attention-DP batches carry their draft tokens themselves; other batches get them here, as runJob does.
      // Pipeline stages (with or without attention DP in them) are timed on the device clock, as runPipeline;
      // other instances get the host/device timing (an attention-DP instance: the busiest rank's host).
      const spec = p.job.engine.speculative;
      const drafted = spec && (p.job.engine.attentionDpRanks ?? 1) <= 1 ? new DraftTokensPredictor(raw, spec.maxDraftLen) : raw;
      predictors.push(p.job.engine.ppSize > 1 ? drafted : withHostDeviceTiming(drafted, p.job.settings.timing));
    }
    const iterations: IterationStats[] | undefined = opts.collectIterations ? [] : undefined;
    const wantStats = iterations !== undefined || opts.onIteration !== undefined;
    const onIteration = wantStats
      ? (e: ClusterEngine, s: IterationStats): void => {
          const rec = { ...s, engine: e.name };
          iterations?.push(rec);
          opts.onIteration?.(rec);
        }
      : undefined;
    const pools: ClusterPool[] = [];
    const byRole = new Map<string, ClusterPool>();
    const gpuCounts: number[] = [];
    cluster.pools.forEach((p, pi) => {
      const engines: ClusterEngine[] = [];
      const role = p.role;
      let pool = byRole.get(role);
      for (let k = 0; k < p.count; k++) {
        const index = pool ? pool.engines.length + engines.length : engines.length;
        engines.push({
          name: instanceName(p, index),
          role,
          pool: p.label,
          index,
          loop: loopOf(p.job.engine, wantStats),
          predictor: predictors[pi]!,
          tokensPerBlock: p.job.engine.tokensPerBlock,
          gpus: p.gpus,
          // max_batch_size is per attention-DP rank and per pipeline micro-batch.
          maxActive: p.job.engine.maxBatchSize * (p.job.engine.attentionDpRanks ?? 1) * p.job.engine.ppSize,
          // Consecutive micro-batches of a pipeline come from different slots: no decode run continues.
          ...(p.job.engine.ppSize > 1 ? { decodeRuns: false } : {}),
        });
        gpuCounts.push(p.gpus);
      }
      if (pool) pool.engines.push(...engines);
      else {
        pool = { role, engines, router: createRouter(role === "aggregated" ? cluster.router : p.router, p.job.engine.tokensPerBlock, p.count) };
        byRole.set(role, pool);
        pools.push(pool);
      }
    });
    const aggregated = byRole.get("aggregated");
    if (aggregated) aggregated.router = createRouter(cluster.router, job.engine.tokensPerBlock, aggregated.engines.length);
    const placement = placeWorkers(gpuCounts);
    const links: KvLink[] = [];
    const prefill = byRole.get("prefill");
    const decode = byRole.get("decode");
    let linkOf: ((p: number, d: number) => KvLink) | undefined;
    if (prefill && decode) {
      const np = prefill.engines.length;
      const table = prefill.engines.map((_, p) =>
        decode.engines.map((_, d) =>
          cluster.links
            ? linkBetween(cluster.links, placement[p]!, placement[np + d]!, cluster.linkOverrides)
            : { kind: "rdma" as const, bandwidth: cluster.linkOverrides.bandwidth ?? 0, latencyMs: cluster.linkOverrides.latencyMs ?? 0 },
        ),
      );
      for (const row of table) for (const l of row) links.push(l);
      linkOf = (p, d) => table[p]![d]!;
    }
    const n = job.requests.length;
    const plan = planArrivals(job.engine.arrivals, n);
    if (plan.reactive) {
      // Processes that react to request ends (a concurrency ceiling over a rate, sessions) submit through
      // the engine's own driver; the cluster replays planned times and plain closed loops only.
      throw new InvalidArgumentError("spec.engine", `${job.engine.arrivals.kind} arrivals are not simulated for cluster jobs yet`);
    }
    const sim = new ClusterSim({
      requests: job.requests,
      ...(job.warmup.length > 0 ? { warmup: job.warmup } : {}),
      plan,
      ...(aggregated ? { aggregated } : {}),
      ...(prefill ? { prefill } : {}),
      ...(decode ? { decode } : {}),
      ...(linkOf ? { transfer: { bytesPerTokenPerRank: cluster.kvBytesPerTokenPerRank, link: linkOf } } : {}),
      flow: cluster.flow,
      ...(onIteration ? { onIteration } : {}),
    });
    const r = await sim.run({
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress
        ? {
            onProgress: (p) =>
              opts.onProgress!({
                iterations: p.iterations,
                requestsFinished: p.requestsFinished,
                requestsTotal: p.requestsTotal,
                simTimeMs: p.simTimeMs,
                warmingUp: p.warmingUp,
              }),
          }
        : {}),
      ...(opts.progressEveryMs !== undefined ? { progressEveryMs: opts.progressEveryMs } : {}),
      ...(opts.pipelinedCluster !== undefined ? { pipelined: opts.pipelinedCluster } : {}),
    });
    const wallMs = performance.now() - started;
    const result = clusterSimulationResult(r, job);
    const description = [...new Set(predictors.map((p) => p.description))].join("; ");
    const input = reportInput(job, result, description, wallMs);
    const metrics = computeMetrics(result.requests, { worldSize: cluster.totalGpus, percentiles: job.report.percentiles, slos: job.report.slos });
    const desc: ClusterDescription = {
      mode: cluster.mode,
      totalGpus: cluster.totalGpus,
      pools: cluster.pools.map(
        (p): PoolDescription => ({
          role: p.role,
          label: p.label,
          instances: p.count,
          gpusPerInstance: p.gpus,
          parallelism: parallelismText(p),
          maxBatchSize: p.job.engine.maxBatchSize,
          maxNumTokens: p.job.engine.maxNumTokens,
          router: routerText(p.role === "aggregated" ? cluster.router : p.router),
        }),
      ),
      ...(cluster.mode === "disaggregated" ? { links, kvBytesPerTokenPerRank: cluster.kvBytesPerTokenPerRank } : {}),
    };
    let text: string | undefined;
    let json: Record<string, unknown> | undefined;
    let jsonText: string | undefined;
    const clusterJson = (): Record<string, unknown> => (json ??= { ...buildReportJson(metrics, input), cluster: clusterReportJson(desc, r) });
    const outcome: JobOutcome = {
      result,
      records: result.requests,
      metrics,
      reportInput: input,
      get reportText() {
        return (text ??= `${renderTextReport(metrics, input)}\n${clusterReportText(desc, r)}`);
      },
      get reportJson() {
        return clusterJson();
      },
      get reportJsonText() {
        return (jsonText ??= `${JSON.stringify(clusterJson(), null, 4)}\n`);
      },
      wallMs,
      cluster: r,
    };
    if (iterations) outcome.iterations = iterations;
    return outcome;
  } finally {
    if (opts.closePredictors !== false) for (const p of new Set(opened)) await p.close?.();
  }
}

/**
 * One instance's EngineLoop: one engine, its attention-DP ranks, or its pipeline stages (with attention DP in
 * every stage when both are on) — the PipelineLoop a single-engine pipeline job with arrivals in time runs.
 */
function loopOf(engine: ResolvedPool["job"]["engine"], wantStats: boolean): EngineLoop {
  const { arrivals: _a, ...settings } = engine;
  const opts = { ...settings, ...(wantStats ? { iterationStats: true } : {}) };
  // The stages' shares of a micro-batch's time come with its price (PipelineLoop.price: the predictor's stage times).
  if (engine.ppSize > 1) return createPipelineLoop(opts);
  const ranks = engine.attentionDpRanks ?? 1;
  return ranks > 1 ? createAttentionDpLoop({ ...opts, attentionDpRanks: ranks }) : createEngineLoop(opts);
}
