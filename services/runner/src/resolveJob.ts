import { checkPercentiles, checkSlos, DEFAULT_PERCENTILES, InvalidArgumentError, type Slo } from "@servesim/core";
import type { EngineOptions, SimRequest } from "@servesim/engine";
import { sloFromWire } from "@servesim/wire";
import type { JobSpec, ReportOptions } from "@servesim/wire/scheduler";
import type { DatasetMetadata, Sessions } from "@servesim/workload";
import { resolveArrivals } from "./arrivalSpec.js";
import { type ResolvedCluster, resolveCluster } from "./cluster/resolveCluster.js";
import { type EngineResolution, resolveEngineSpec, reuseBlockSize } from "./engineSpec.js";
import { DEFAULT_LIMITS, type RunnerLimits } from "./limits.js";
import { applyModelPath, checkModelPath } from "./modelPath.js";
import { type ResolvedPredictor, resolvePredictorSpec } from "./predictorSpec.js";
import { DEFAULT_WARMUP, pickWarmup } from "./warmup.js";
import { adoptWorkload, type ResolvedWorkload, resolveWorkloadSpec } from "./workloadSpec.js";

/** A job spec validated and resolved into everything the engine and the report need. */
export interface ResolvedJob {
  name: string;
  predictor: ResolvedPredictor;
  /** Measured requests, in dataset order. */
  requests: SimRequest[];
  /** Warm-up requests simulated first (stats discarded, prefix cache kept). */
  warmup: SimRequest[];
  dataset: DatasetMetadata;
  workloadSource: "inline" | "dataset" | "synthetic";
  /** Some prompt lengths were approximated from text (DatasetWorkload.approx_prompt_tokens). */
  approxPromptTokens: boolean;
  /** trtllm-bench --model_path (the report's "Model Path"); null when unset. */
  modelPath: string | null;
  engine: EngineOptions;
  /** How the engine settings were derived (heuristic, KV sizing). */
  settings: Omit<EngineResolution, "options" | "warnings">;
  /** Non-fatal findings for the user (duplicate task ids, settings without effect, unbounded KV pool). */
  warnings: string[];
  /** How the measured requests are submitted, in words (report.json `sim.arrivals`). */
  arrivals: string;
  /** A trace's arrival times (ms since its first; NaN where a row has none). */
  timestampsMs?: Float64Array;
  /** A dataset's multi-turn sessions. */
  sessions?: Sessions;
  /** The report's latency percentiles (sorted) and goodput objectives. */
  report: ResolvedReport;
  /**
   * Cluster jobs (spec.cluster): the pools, each resolved as a job of its own. The job's other fields are
   * those of the decode pool (disaggregated) or of the first group (aggregated): its header in the report.
   */
  cluster?: ResolvedCluster;
}

export interface ResolvedReport {
  percentiles: number[];
  slos: Slo[];
}

/** JobSpec.report, validated: percentiles in (0, 100] (default trtllm-bench's 50, 90, 95, 99), at most 8 objectives. */
export function resolveReportOptions(r: ReportOptions | undefined): ResolvedReport {
  const percentiles = r?.percentiles ?? [];
  const goodput = r?.goodput ?? [];
  return {
    percentiles: percentiles.length > 0 ? checkPercentiles(percentiles, "spec.report.percentiles") : [...DEFAULT_PERCENTILES],
    slos: checkSlos(
      goodput.map((g, i) => sloFromWire(g, `spec.report.goodput[${i}]`)),
      "spec.report.goodput",
    ),
  };
}

export interface ResolveOptions {
  limits?: Partial<RunnerLimits>;
  /** The bytes of the job's streamed dataset (DatasetWorkload.streamed), read as they come. */
  datasetStream?: AsyncIterable<Uint8Array>;
  /**
   * The resolution of spec.workload, made earlier (resolveWorkload): a sweep resolves its workload once
   * for all its points, the CLI may read it from its parsed-dataset cache. spec.workload is then not read.
   */
  workload?: ResolvedWorkload;
  /** Resolve the engine of a disaggregated decode pool (prompts arrive prefilled: see EngineInputs.decodeOnly). */
  decodeOnly?: boolean;
}

/**
 * Validates a job spec and resolves it: predictor defaults, workload → requests, engine settings
 * (trtllm-bench heuristic, KV pool), arrivals and warm-up. Throws InvalidArgumentError naming the
 * offending proto field ("spec.engine.max_num_tokens", "spec.workload.inline.requests[3].output_tokens",
 * "<dataset name> line 12").
 */
export async function resolveJob(spec: JobSpec, opts: ResolveOptions = {}): Promise<ResolvedJob> {
  if (spec === null || typeof spec !== "object") throw new InvalidArgumentError("spec", "a job spec is required");
  if (spec.cluster !== undefined && spec.cluster !== null) return resolveClusterJob(spec, opts);
  const limits: RunnerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const e = spec.engine;
  const seed = e?.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError("spec.engine.seed", `must be an integer in [0, 2^53) (got ${seed})`);
  const numRequests = e?.numRequests ?? 0;
  if (!Number.isInteger(numRequests) || numRequests < 0) {
    throw new InvalidArgumentError("spec.engine.num_requests", `must be an integer >= 0 (got ${numRequests})`);
  }
  const warmupCount = e?.warmup ?? DEFAULT_WARMUP;
  if (!Number.isInteger(warmupCount) || warmupCount < 0 || warmupCount > limits.maxWarmup) {
    throw new InvalidArgumentError("spec.engine.warmup", `must be an integer in [0, ${limits.maxWarmup}] (got ${warmupCount})`);
  }

  const report = resolveReportOptions(spec.report);
  const modelPath = checkModelPath(spec.modelPath);
  const predictor = resolvePredictorSpec(applyModelPath(spec.predictor, modelPath));
  const workloadOptions = {
    ...(opts.datasetStream ? { datasetStream: opts.datasetStream } : {}),
    numRequests,
    limits,
    tokensPerBlock: reuseBlockSize(e),
    ...(predictor.model?.maxPositionEmbeddings ? { maxInputLength: predictor.model.maxPositionEmbeddings } : {}),
    ...(predictor.model ? { vocabSize: predictor.model.vocab } : {}),
  };
  const workload = opts.workload ? adoptWorkload(opts.workload, workloadOptions) : await resolveWorkloadSpec(spec.workload, workloadOptions);
  const requests = workload.requests;
  const warmup = pickWarmup(requests, warmupCount, seed);
  const dataset = workload.metadata;

  const engine = resolveEngineSpec({
    engine: e,
    predictor,
    dataset,
    maxIsl: dataset.maxIsl,
    maxSeqLen: dataset.maxSequenceLength,
    lengths: warmup.length > 0 ? [...requests, ...warmup] : requests,
    ...(opts.decodeOnly ? { decodeOnly: true } : {}),
  });
  const { options, warnings: engineWarnings, ...settings } = engine;
  const placed = resolveArrivals(e, engine.benchmark, {
    n: requests.length,
    ...(workload.timestampsMs ? { timestampsMs: workload.timestampsMs } : {}),
    ...(workload.sessions ? { sessions: workload.sessions } : {}),
  });
  options.arrivals = placed.arrivals;
  checkArrivalsSupported(options);
  const traceWarnings = placed.warnings;
  const resolved: ResolvedJob = {
    name: spec.name ?? "",
    predictor,
    requests,
    warmup,
    dataset,
    workloadSource: workload.source,
    approxPromptTokens: workload.approxPromptTokens,
    modelPath,
    engine: options,
    settings,
    warnings: [...workload.warnings, ...engineWarnings, ...traceWarnings],
    arrivals: placed.description,
    report,
  };
  if (workload.timestampsMs) resolved.timestampsMs = workload.timestampsMs;
  if (workload.sessions) resolved.sessions = workload.sessions;
  return resolved;
}

/**
 * The workload of a spec, resolved alone (every request, whatever engine.num_requests keeps), to be
 * handed to resolveJob({ workload }) by the jobs that share it. Synthetic token ids depend on the
 * model's vocabulary, so jobs share a workload only when their models agree on it (vocabSize).
 */
export async function resolveSharedWorkload(
  spec: JobSpec,
  opts: { limits?: Partial<RunnerLimits>; datasetStream?: AsyncIterable<Uint8Array> } = {},
): Promise<{ workload: ResolvedWorkload; key: string }> {
  const limits: RunnerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const predictor = resolvePredictorSpec(applyModelPath(spec.predictor, checkModelPath(spec.modelPath)));
  const key = sharedWorkloadKey(spec);
  const workload = await resolveWorkloadSpec(spec.workload, {
    numRequests: 0,
    limits,
    tokensPerBlock: reuseBlockSize(spec.engine),
    ...(opts.datasetStream ? { datasetStream: opts.datasetStream } : {}),
    ...(predictor.model?.maxPositionEmbeddings ? { maxInputLength: predictor.model.maxPositionEmbeddings } : {}),
    ...(predictor.model ? { vocabSize: predictor.model.vocab } : {}),
  });
  return { workload, key };
}

/**
 * What a shared workload depends on besides the spec's workload: the block size its prompts are keyed for
 * (the engine's tokens_per_block with block reuse on) and, for synthetic token ids, the model's vocabulary
 * and context. Jobs whose keys agree can share one resolution.
 */
export function sharedWorkloadKey(spec: JobSpec): string {
  const predictor = resolvePredictorSpec(applyModelPath(spec.predictor, checkModelPath(spec.modelPath)));
  return JSON.stringify([reuseBlockSize(spec.engine), predictor.model?.vocab ?? null, predictor.model?.maxPositionEmbeddings ?? null]);
}

/**
 * The pipeline-parallel and attention-DP runners replay every open-loop schedule (all at once, Poisson, gamma,
 * a trace) and a concurrency limit, but not the processes that react to request ends (a ceiling over a rate,
 * sessions).
 */
function checkArrivalsSupported(options: ResolvedJob["engine"]): void {
  const kind = options.arrivals.kind;
  if (kind !== "max_concurrency" && kind !== "sessions") return;
  const field = kind === "sessions" ? "spec.engine.session_mode" : "spec.engine.concurrency";
  const what = options.ppSize > 1 ? "pipeline parallelism" : (options.attentionDpRanks ?? 1) > 1 ? "attention DP" : null;
  if (what !== null) {
    throw new InvalidArgumentError(field, `${what} runs open-loop arrivals or a concurrency limit; ${describeKind(kind)} are not simulated with it yet`);
  }
}

function describeKind(kind: "max_concurrency" | "sessions"): string {
  return kind === "max_concurrency"
    ? "a concurrency ceiling over a rate or a trace"
    : "closed-loop multi-turn sessions (session_mode INDEPENDENT runs their turns as requests)";
}

/**
 * A cluster job: the workload resolved once, then every pool resolved as the job spec with the pool's
 * parallelism and engine limits (errors name the pool: "spec.cluster.decode: spec.engine.max_batch_size").
 */
async function resolveClusterJob(spec: JobSpec, opts: ResolveOptions): Promise<ResolvedJob> {
  if (spec.sweep !== undefined)
    throw new InvalidArgumentError("spec.sweep", "a cluster job cannot also be a sweep (search disaggregated topologies with servesim search)");
  const workload =
    opts.workload ??
    (
      await resolveSharedWorkload(spec, {
        ...(opts.limits ? { limits: opts.limits } : {}),
        ...(opts.datasetStream ? { datasetStream: opts.datasetStream } : {}),
      })
    ).workload;
  const { datasetStream: _stream, ...rest } = opts;
  const cluster = await resolveCluster(spec, spec.cluster!, async (poolSpec, field, role) => {
    try {
      return await resolveJob(poolSpec, { ...rest, workload, ...(role === "decode" ? { decodeOnly: true } : {}) });
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(`${field}: ${e.field}`, e.reason);
      throw e;
    }
  });
  const head = cluster.pools.find((p) => p.role === "decode") ?? cluster.pools[0]!;
  const warnings = [...cluster.warnings];
  for (const p of cluster.pools) for (const w of p.job.warnings) if (!warnings.includes(w)) warnings.push(w);
  // Warm-up requests (picked from the shared workload, the same for every pool) run through the cluster.
  return { ...head.job, warnings, cluster };
}
