import { type BatchPredictor, CancelledError, FailedPreconditionError, InvalidArgumentError } from "@servesim/core";
import { createPredictor, lookupModel } from "@servesim/perf";
import { DType, PredictorKind } from "@servesim/wire/predictor";
import { Distribution, JobSpec, SchedulerPolicy } from "@servesim/wire/scheduler";
import { parse } from "csv-parse/sync";
import { resolveJob } from "../resolveJob.js";
import { runJob } from "../runJob.js";
import { benchmarkWorkload, methodForRow } from "./benchmarkMethod.js";
import { meanLatencies } from "./meanLatencies.js";
import { fitRequestOverhead, formatOverheadFit, type OverheadFit } from "./overheadFit.js";
import type { ValidationPredictor } from "./replay.js";
import { robustOutliers } from "./validate.js";

/** One worker pool of a disaggregated silicon row (AIConfigurator's prefill_* / decode_* columns). */
export interface DisaggPoolFields {
  batchSize: number;
  workers: number;
  /** Attention TP (tp_size) and attention-DP ranks (attention_dp_size): the worker has tp × adp GPUs. */
  tp: number;
  pp: number;
  attentionDp: number;
  moeTp: number;
  moeEp: number;
}

/** A TensorRT-LLM disaggregated row of silicon_sample.csv. */
export interface DisaggRow {
  id: string;
  modelPath: string;
  system: string;
  precision: string;
  isl: number;
  osl: number;
  /** Null when the row lacks worker fields (sizes and counts). */
  prefill: DisaggPoolFields | null;
  decode: DisaggPoolFields | null;
  /** decode_batch_size × decode_attention_dp_size × decode_num_workers. */
  concurrency: number;
  ttftMs: number;
  tpotMs: number;
  /** `silicon_data_source` (selects the row's benchmark method). */
  source: string;
}

const NEEDED = ["batch_size", "num_workers", "tp_size", "pp_size", "attention_dp_size", "moe_tp_size", "moe_ep_size"] as const;

/** The TensorRT-LLM disaggregated rows of silicon_sample.csv text (other rows are skipped). */
export function parseDisaggRows(text: string): DisaggRow[] {
  let lines: string[][];
  try {
    lines = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (e) {
    throw new InvalidArgumentError("silicon csv", `invalid CSV: ${(e as Error).message}`);
  }
  if (lines.length === 0) throw new InvalidArgumentError("silicon csv", "empty file");
  const col = new Map(lines[0]!.map((h, i) => [h.trim(), i]));
  for (const k of ["id", "backend", "mode", "model_path", "system", "isl", "osl", "silicon_ttft_ms", "silicon_tpot_ms"]) {
    if (!col.has(k)) throw new InvalidArgumentError("silicon csv", `column "${k}" is missing`);
  }
  const get = (c: string[], k: string): string => {
    const i = col.get(k);
    return i === undefined ? "" : (c[i] ?? "").trim();
  };
  const pool = (c: string[], side: "prefill" | "decode"): DisaggPoolFields | null => {
    const v = NEEDED.map((k) => get(c, `${side}_${k}`));
    if (v.some((x) => x === "")) return null;
    const n = v.map(Number);
    if (!n.every((x) => Number.isInteger(x) && x >= 1)) return null;
    return { batchSize: n[0]!, workers: n[1]!, tp: n[2]!, pp: n[3]!, attentionDp: n[4]!, moeTp: n[5]!, moeEp: n[6]! };
  };
  const out: DisaggRow[] = [];
  for (const c of lines.slice(1)) {
    if (get(c, "backend") !== "trtllm" || get(c, "mode") !== "disagg") continue;
    const prefill = pool(c, "prefill");
    const decode = pool(c, "decode");
    out.push({
      id: get(c, "id"),
      modelPath: get(c, "model_path"),
      system: get(c, "system"),
      precision: get(c, "precision"),
      isl: Number(get(c, "isl")),
      osl: Number(get(c, "osl")),
      prefill,
      decode,
      concurrency: decode ? decode.batchSize * decode.attentionDp * decode.workers : Number.NaN,
      ttftMs: Number(get(c, "silicon_ttft_ms")),
      tpotMs: Number(get(c, "silicon_tpot_ms")),
      source: get(c, "silicon_data_source"),
    });
  }
  return out;
}

/** Why a row is not replayed (null: it is). */
export function disaggSkipReason(r: DisaggRow): string | null {
  if (r.prefill === null || r.decode === null) return "no worker fields (prefill_*/decode_* sizes and worker counts)";
  if (!(r.ttftMs > 0 && r.tpotMs > 0)) return "no positive TTFT/TPOT measurement";
  if (![r.isl, r.osl].every((v) => Number.isInteger(v) && v > 0)) return "no ISL/OSL";
  if (lookupModel(r.modelPath) === undefined) return "model not in servesim's catalog";
  return null;
}

/**
 * The token budget of the measured context servers. The rows give only AIConfigurator's prefill_batch_size
 * (1 in every row), not the servers' own limits; the InferenceX disaggregated deployments the rows come from
 * (the YAML recipes under srt-slurm's `recipes/trtllm/`, `trtllm_config.prefill`) size their
 * context servers by tokens: max_num_tokens 8,192–16,896 and max_batch_size = max_num_tokens / ISL (8–16
 * prompts per rank at 1k, 1–2 at 8k).
 */
export const CONTEXT_SERVER_TOKENS = 16_384;

/** The workers of one pool as a cluster pool: TensorRT-LLM's tensor_parallel_size is tp × attention-DP ranks. */
function workerPool(p: DisaggPoolFields, role: "prefill" | "decode", isl: number) {
  const gpus = p.tp * p.attentionDp;
  // A context server batches as many whole prompts as its token budget holds (chunking off).
  const prefillBatch = Math.max(p.batchSize, Math.floor(CONTEXT_SERVER_TOKENS / isl));
  return {
    numWorkers: p.workers,
    parallelism: { tp: gpus, pp: p.pp, ep: p.moeEp, moeTp: p.moeTp, ...(p.attentionDp > 1 ? { attentionDp: true } : {}) },
    // max_batch_size is per attention-DP rank, as TensorRT-LLM's (every rank an engine of its own).
    maxBatchSize: role === "prefill" ? prefillBatch : p.batchSize,
    // Generation servers take one token per request.
    maxNumTokens: role === "prefill" ? Math.max(isl * prefillBatch, CONTEXT_SERVER_TOKENS) : Math.max(p.batchSize, 1),
    disableOverlapScheduler: role === "prefill",
  };
}

export interface DisaggReplaySettings {
  predictor: ValidationPredictor;
  systemsDir?: string;
  backendVersion?: string;
  /**
   * Requests per row: max(waves × concurrency, 64), capped at maxRequests (defaults 10 and 20,000: ten
   * waves, the request count of the aggregated replay, without cutting a high concurrency short).
   */
  waves?: number;
  maxRequests?: number;
  /**
   * Leave the first wave (the first `concurrency` requests, all arriving at t = 0 into empty workers) out
   * of the means (default false: a closed-loop benchmark starts with that burst, and the measured TTFTs,
   * which grow with concurrency, carry it).
   */
  skipFirstWave?: boolean;
  /**
   * Request lengths as the row's benchmark method drew them (benchmarkMethod.ts: ISL and OSL uniform in
   * [0.8·L, L], 10 × concurrency requests; default), or fixed at ISL/OSL with max(waves × concurrency, 64).
   */
  fixedLengths?: boolean;
}

/** The cluster job that replays a row: closed loop at the row's concurrency, lengths as its benchmark drew them. */
export function disaggJobSpec(r: DisaggRow, s: DisaggReplaySettings): JobSpec {
  const n = Math.max(Math.min(Math.max((s.waves ?? 10) * r.concurrency, 64), s.maxRequests ?? 20_000), 2 * r.concurrency);
  const fp4 = r.precision === "fp4";
  return JobSpec.fromPartial({
    name: r.id,
    engine: {
      schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT,
      chunkingPolicy: 0,
      concurrency: r.concurrency,
      requestRate: 0,
      seed: 0,
      numRequests: 0,
      warmup: 0,
      benchmark: 0,
      enableBlockReuse: false,
      tokensPerBlock: 32,
    },
    predictor: {
      kind: s.predictor === "aic" ? PredictorKind.PREDICTOR_KIND_AIC : PredictorKind.PREDICTOR_KIND_ROOFLINE,
      deviceName: r.system,
      databasePath: s.predictor === "aic" ? (s.systemsDir ?? "") : "",
      backendVersion: s.predictor === "aic" ? (s.backendVersion ?? "1.2.0rc5") : "",
      // The systems' tables come in different versions (GB200: 1.3.0rc10): the nearest one is used.
      ...(s.predictor === "aic" ? { nearestTableVersion: true } : {}),
      model: { name: r.modelPath },
      weightDtype: fp4 ? DType.D_TYPE_NVFP4 : DType.D_TYPE_FP8,
      kvCacheDtype: DType.D_TYPE_FP8,
      ctxAttention: "",
    },
    workload: s.fixedLengths
      ? {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
            numRequests: n,
            inputMean: r.isl,
            inputStdev: 0,
            outputMean: r.osl,
            outputStdev: 0,
            seed: 0,
          },
        }
      : {
          inline: {
            requests: benchmarkWorkload(r, methodForRow(r), { maxRequests: Math.max(s.maxRequests ?? 20_000, 2 * r.concurrency) }).requests.map((q) => ({
              taskId: q.taskId,
              inputLength: q.inputLength,
              outputTokens: q.outputTokens,
              inputIds: [],
            })),
          },
        },
    modelPath: "",
    cluster: {
      aggregated: [],
      prefill: workerPool(r.prefill!, "prefill", r.isl),
      decode: workerPool(r.decode!, "decode", r.isl),
    },
  });
}

export interface DisaggValidationRow {
  id: string;
  predictor: ValidationPredictor;
  model: string;
  system: string;
  precision: string;
  isl: number;
  osl: number;
  concurrency: number;
  topology: string;
  silicon_ttft_ms: number;
  silicon_tpot_ms: number;
  predicted_ttft_ms: number;
  predicted_tpot_ms: number;
  ttft_error_pct: number;
  tpot_error_pct: number;
  tpot_outlier: boolean;
  ttft_outlier: boolean;
}

export interface DisaggGroup {
  predictor: ValidationPredictor;
  model: string;
  system: string;
  precision: string;
  rows: number;
  tpot_mape: number;
  ttft_mape: number;
}

export interface DisaggValidationReport {
  summary: {
    /** TensorRT-LLM disaggregated rows in the file, those with worker fields, and those replayed. */
    disagg_rows: number;
    with_worker_fields: number;
    replayed: Record<string, number>;
    /** Rows not replayed, by reason (per predictor where the reason is the run's). */
    not_replayed: { reason: string; rows: number }[];
    /** MAPEs over every replayed row, and without robust outliers. */
    tpot_mape_all: Record<string, number>;
    ttft_mape_all: Record<string, number>;
    tpot_mape: Record<string, number>;
    ttft_mape: Record<string, number>;
    groups: DisaggGroup[];
    /** With `fitOverheads`: the per-request overhead fitted per predictor (overheadFit.ts). */
    overhead_fit?: Record<string, OverheadFit>;
    settings: string;
  };
  rows: DisaggValidationRow[];
}

const mape = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + Math.abs(x), 0) / xs.length);

const topologyText = (r: DisaggRow): string => {
  const p = (x: DisaggPoolFields) =>
    `${x.workers}×(tp${x.tp}${x.attentionDp > 1 ? ` adp${x.attentionDp}` : ""}${x.moeEp > 1 ? ` ep${x.moeEp}` : ""} bs${x.batchSize})`;
  return `P ${p(r.prefill!)} D ${p(r.decode!)}`;
};

/** Replays the disaggregated rows that carry worker fields as cluster jobs and summarizes the errors by group. */
export async function validateDisaggregated(
  csvText: string,
  opts: {
    predictors: ValidationPredictor[];
    systemsDir?: string;
    backendVersion?: string;
    replay?: Pick<DisaggReplaySettings, "waves" | "maxRequests" | "skipFirstWave" | "fixedLengths">;
    filter?: (r: DisaggRow) => boolean;
    /** Fit the per-request overhead (frontend and hand-off) on the replayed rows. */
    fitOverheads?: boolean;
    onRow?: (done: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<DisaggValidationReport> {
  const all = parseDisaggRows(csvText).filter((r) => opts.filter?.(r) ?? true);
  const reasons = new Map<string, number>();
  const count = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  const runnable: DisaggRow[] = [];
  for (const r of all) {
    const why = disaggSkipReason(r);
    if (why) count(why);
    else runnable.push(r);
  }
  const out: DisaggValidationRow[] = [];
  const replayed: Record<string, number> = {};
  const predictors = new Map<string, Promise<BatchPredictor>>();
  const total = runnable.length * opts.predictors.length;
  let done = 0;
  for (const kind of opts.predictors) {
    const settings: DisaggReplaySettings = { predictor: kind, ...opts.replay };
    if (opts.systemsDir !== undefined) settings.systemsDir = opts.systemsDir;
    if (opts.backendVersion !== undefined) settings.backendVersion = opts.backendVersion;
    const part: DisaggValidationRow[] = [];
    for (const r of runnable) {
      try {
        const job = await resolveJob(disaggJobSpec(r, settings));
        const outcome = await runJob(
          job,
          (config) => {
            const key = JSON.stringify(config);
            let p = predictors.get(key);
            if (!p) predictors.set(key, (p = createPredictor(config)));
            return p;
          },
          { closePredictors: false, ...(opts.signal ? { signal: opts.signal } : {}) },
        );
        const m = meanLatencies(outcome.records, settings.skipFirstWave === true ? r.concurrency : 0);
        if (m.finished === 0) throw new FailedPreconditionError("no request finished");
        const ttft = m.ttftMs;
        const tpot = m.tpotMs;
        part.push({
          id: r.id,
          predictor: kind,
          model: r.modelPath,
          system: r.system,
          precision: r.precision,
          isl: r.isl,
          osl: r.osl,
          concurrency: r.concurrency,
          topology: topologyText(r),
          silicon_ttft_ms: r.ttftMs,
          silicon_tpot_ms: r.tpotMs,
          predicted_ttft_ms: ttft,
          predicted_tpot_ms: tpot,
          ttft_error_pct: (100 * (ttft - r.ttftMs)) / r.ttftMs,
          tpot_error_pct: (100 * (tpot - r.tpotMs)) / r.tpotMs,
          tpot_outlier: false,
          ttft_outlier: false,
        });
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        if (!(e instanceof InvalidArgumentError || e instanceof FailedPreconditionError)) throw e;
        const msg = e instanceof InvalidArgumentError ? e.reason : e.message;
        count(`${kind}: ${msg.replace(/\d+(\.\d+)?/g, "N").slice(0, 160)}`);
      }
      opts.onRow?.(++done, total);
    }
    replayed[kind] = part.length;
    const ttftOut = robustOutliers(part.map((p) => p.predicted_ttft_ms / p.silicon_ttft_ms));
    const tpotOut = robustOutliers(part.map((p) => p.predicted_tpot_ms / p.silicon_tpot_ms));
    part.forEach((p, i) => {
      p.ttft_outlier = ttftOut[i]!;
      p.tpot_outlier = tpotOut[i]!;
    });
    out.push(...part);
  }
  const groups: DisaggGroup[] = [];
  const sum = {
    tpot_mape_all: {} as Record<string, number>,
    ttft_mape_all: {} as Record<string, number>,
    tpot_mape: {} as Record<string, number>,
    ttft_mape: {} as Record<string, number>,
  };
  for (const kind of opts.predictors) {
    const rs = out.filter((r) => r.predictor === kind);
    sum.tpot_mape_all[kind] = mape(rs.map((r) => r.tpot_error_pct));
    sum.ttft_mape_all[kind] = mape(rs.map((r) => r.ttft_error_pct));
    sum.tpot_mape[kind] = mape(rs.filter((r) => !r.tpot_outlier).map((r) => r.tpot_error_pct));
    sum.ttft_mape[kind] = mape(rs.filter((r) => !r.ttft_outlier).map((r) => r.ttft_error_pct));
    for (const key of [...new Set(rs.map((r) => `${r.model}|${r.system}|${r.precision}`))]) {
      const g = rs.filter((r) => `${r.model}|${r.system}|${r.precision}` === key);
      groups.push({
        predictor: kind,
        model: g[0]!.model,
        system: g[0]!.system,
        precision: g[0]!.precision,
        rows: g.length,
        tpot_mape: mape(g.map((r) => r.tpot_error_pct)),
        ttft_mape: mape(g.map((r) => r.ttft_error_pct)),
      });
    }
  }
  return {
    summary: {
      disagg_rows: all.length,
      with_worker_fields: all.filter((r) => r.prefill !== null && r.decode !== null).length,
      replayed,
      not_replayed: [...reasons].map(([reason, rows]) => ({ reason, rows })).sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason)),
      ...sum,
      groups,
      ...(opts.fitOverheads
        ? { overhead_fit: Object.fromEntries(opts.predictors.map((k) => [k, fitRequestOverhead(out.filter((r) => r.predictor === k))])) }
        : {}),
      settings: `closed loop at decode_batch_size × decode_attention_dp_size × decode_num_workers; ${opts.replay?.fixedLengths ? `fixed ISL/OSL, requests max(${opts.replay?.waves ?? 10} × concurrency, 64)` : "each row's benchmark method (inferencex: ISL/OSL uniform in [0.8·L, L], 10 × concurrency requests)"} capped at ${opts.replay?.maxRequests ?? 20_000} (never below 2 × concurrency)${opts.replay?.skipFirstWave === true ? ", the first wave (start-up burst) left out of the means" : ", every request in the means (the start-up burst included)"}; context servers: max_batch_size max(prefill_batch_size, ⌊16384 / ISL⌋), max_num_tokens max(ISL × batch, 16384), overlap off; generation servers: max_batch_size decode_batch_size per attention-DP rank, overlap on; GUARANTEED_NO_EVICT, KV from GPU memory (fraction 0.9), FP8 KV`,
    },
    rows: out,
  };
}

const fmt = (x: number, w: number): string => (Number.isFinite(x) ? x.toFixed(1) : "-").padStart(w);

/** Text: coverage, per-group MAPEs, overall. */
export function formatDisaggValidation(r: DisaggValidationReport): string {
  const s = r.summary;
  const L: string[] = [];
  L.push(
    `Disaggregated rows (TensorRT-LLM): ${s.disagg_rows}; with worker fields: ${s.with_worker_fields}; replayed: ${Object.entries(s.replayed)
      .map(([k, v]) => `${v} (${k})`)
      .join(", ")}`,
  );
  L.push("Not replayed:");
  for (const x of s.not_replayed) L.push(`  ${String(x.rows).padStart(5)}  ${x.reason}`);
  L.push("");
  L.push(
    `${"predictor".padEnd(10)} ${"model".padEnd(28)} ${"system".padEnd(9)} ${"prec".padEnd(5)} ${"rows".padStart(5)} ${"TPOT MAPE %".padStart(12)} ${"TTFT MAPE %".padStart(12)}`,
  );
  for (const g of s.groups) {
    L.push(
      `${g.predictor.padEnd(10)} ${g.model.padEnd(28)} ${g.system.padEnd(9)} ${g.precision.padEnd(5)} ${String(g.rows).padStart(5)} ${fmt(g.tpot_mape, 12)} ${fmt(g.ttft_mape, 12)}`,
    );
  }
  L.push("");
  for (const k of Object.keys(s.tpot_mape_all)) {
    L.push(
      `${k.padEnd(10)} overall: TPOT MAPE ${fmt(s.tpot_mape_all[k]!, 5)} % (without robust outliers ${fmt(s.tpot_mape[k]!, 5)} %), TTFT MAPE ${fmt(s.ttft_mape_all[k]!, 5)} % (without robust outliers ${fmt(s.ttft_mape[k]!, 5)} %)`,
    );
  }
  for (const [k, f] of Object.entries(s.overhead_fit ?? {})) L.push(...formatOverheadFit(k, f));
  L.push(`settings: ${s.settings}`);
  return L.join("\n");
}
