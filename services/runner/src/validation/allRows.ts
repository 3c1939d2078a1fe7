import type { BatchPredictor } from "@servesim/core";
import {
  DraftTokensPredictor,
  type EngineOptions,
  hostCostFor,
  runAttentionDp,
  runSimulation,
  type SimRequest,
  Simulation,
  type TimingSettings,
  TRTLLM_PYTORCH_TIMING,
  withHostDeviceTiming,
} from "@servesim/engine";
import { benchHeuristic, createPredictor, type Efficiency, gpuFamily, kvCapacity, type Overheads, resolveRun, weightLayout } from "@servesim/perf";
import { type BenchmarkMethod, benchmarkWorkload, methodForRow } from "./benchmarkMethod.js";
import { disaggregatedTwins } from "./disaggTwins.js";
import { meanLatencies } from "./meanLatencies.js";
import { type ParallelColumns, parallelColumns, type RowSetup, rowPredictorConfig, rowSetup } from "./modernRows.js";
import { ROW_MTP_ACCEPTANCE, rowMtpDrafts, rowMtpOptions } from "./rowSpeculation.js";
import { parseSiliconCsv, type SiliconRow } from "./silicon.js";
import { slotSignatures } from "./slotSignature.js";
import { unsquareParallelism } from "./squaredParallelism.js";

export type AllRowsPredictor = "roofline" | "aic";

/**
 * How a row's load is replayed: "benchmark" (default) as the row was measured (its source's benchmark
 * method: ISL/OSL uniform in [0.8·L, L], 2 × concurrency warm-up, 10 × concurrency measured requests, the
 * method's engine slots split over attention-DP ranks); "simple": one length, no warm-up, closed loop from
 * t = 0 with max(waves × concurrency, 64) requests (the first wave inflates TTFT).
 */
export type AllRowsLoad = "benchmark" | "simple";

export interface AllRowsOptions {
  predictors: AllRowsPredictor[];
  /** AIConfigurator systems directory (aic). */
  systemsDir?: string;
  /** Load (default "benchmark"). */
  load?: AllRowsLoad;
  /** "simple" load: requests per row max(waves × concurrency, 64) capped at maxRequests (defaults 4 and 1024). */
  waves?: number;
  /** Caps the measured requests per row (benchmark load: default 10 × concurrency; simple: 1024). */
  maxRequests?: number;
  /** TensorRT-LLM's overlap loop (default true); false: the non-overlap loop. */
  overlap?: boolean;
  filter?: (r: SiliconRow) => boolean;
  /** Per-position acceptance of the MTP drafts of rows that ran MTP (default ROW_MTP_ACCEPTANCE); fits and experiments. */
  mtpAcceptance?: number;
  /** Roofline efficiency factors for every row (default: each GPU family's); fits and experiments. */
  efficiency?: Efficiency;
  /** Device overheads for every row (default: each GPU family's); fits and experiments. */
  overheads?: Overheads;
  onRow?: (done: number, total: number) => void;
}

/** One TensorRT-LLM aggregated row with one predictor: its prediction or why there is none. */
export interface AllRowsRow {
  id: string;
  predictor: AllRowsPredictor;
  model_path: string;
  system: string;
  precision: string;
  isl: number;
  osl: number;
  concurrency: number;
  setup: string;
  /** The benchmark method the row was replayed with ("simple" for the one-length load). */
  method: string;
  silicon_ttft_ms: number;
  silicon_tpot_ms: number;
  predicted_ttft_ms: number | null;
  predicted_tpot_ms: number | null;
  ttft_error_pct: number | null;
  tpot_error_pct: number | null;
  /** Why the row was not replayed (no prediction). */
  reason: string | null;
}

export interface AllRowsGroup {
  predictor: AllRowsPredictor;
  model_path: string;
  system: string;
  precision: string;
  rows: number;
  replayed: number;
  tpot_mape: number;
  ttft_mape: number;
  /** Groups of ≥ 20 replayed rows are held to the issue's targets (aic: TPOT ≤ 10 %, TTFT ≤ 20 %; roofline: 15 %, 30 %). */
  meets_target: boolean | null;
}

export interface AllRowsReport {
  rows: AllRowsRow[];
  groups: AllRowsGroup[];
  summary: Record<string, { rows: number; replayed: number; tpot_mape: number; ttft_mape: number }>;
}

const TARGETS: Record<AllRowsPredictor, { tpot: number; ttft: number }> = { aic: { tpot: 10, ttft: 20 }, roofline: { tpot: 15, ttft: 30 } };

const mape = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + Math.abs(x), 0) / xs.length);

function describeSetup(s: RowSetup, drafts: number): string {
  return `${s.model} ${s.weight} TP${s.tp}${s.attentionDp ? ` ADP${s.tp}` : ""}${s.ep > 1 ? ` EP${s.ep}` : ""}${drafts > 0 ? ` MTP${drafts}` : ""} c${s.concurrency}`;
}

/**
 * Engine settings of a row as trtllm-bench picks them: its max_batch_size / max_num_tokens heuristic
 * (max_batch_size at least the per-rank share of the closed loop, max_num_tokens at least the prompt),
 * GUARANTEED_NO_EVICT, 32-token blocks, KV from GPU memory per rank, the closed loop at the row's
 * concurrency, attention-DP ranks when the row ran with attention DP.
 */
function rowEngine(
  r: SiliconRow,
  s: RowSetup,
  predictorConfig: ReturnType<typeof rowPredictorConfig>,
  overlap: boolean,
  method: BenchmarkMethod | null,
  speculative: EngineOptions["speculative"],
): EngineOptions {
  const run = resolveRun(predictorConfig, predictorConfig.databasePath ? { systemsDir: predictorConfig.databasePath } : {});
  const ranks = s.attentionDp ? s.tp : 1;
  const h = benchHeuristic({
    model: run.model,
    tp: run.tp,
    pp: 1,
    weightDtype: run.weightDtype,
    kvDtype: run.kvDtype,
    deviceMemBytes: run.gpu.memCapacity,
    avgIsl: r.isl,
    avgOsl: r.osl,
    maxIsl: r.isl,
    chunkedPrefill: false,
    ...(run.uniformWeights ? {} : { precisions: run.precisions }),
  });
  // The benchmark method's server gives the client's closed loop method.slots(concurrency) slots, split
  // over the attention-DP ranks (max_batch_size is per rank); the simple load never lets a request wait.
  const maxBatchSize = method ? Math.max(1, Math.ceil(method.slots(s.concurrency) / ranks)) : Math.max(h.maxBatchSize, Math.ceil(s.concurrency / ranks));
  // A generation request with D drafts puts 1 + D tokens in the budget (InferenceX's MTP scripts size
  // max_num_tokens as (MTP + 1) × max_batch_size + ISL); the MTP layer holds weights and KV of its own.
  const drafts = speculative?.maxDraftLen ?? 0;
  const maxNumTokens = Math.max(h.maxNumTokens, r.isl + (method ? maxBatchSize * (1 + drafts) : 0));
  const layout = { ...weightLayout(run), ...(drafts > 0 ? { mtpLayers: 1 } : {}) };
  const kv = kvCapacity({ ...run, maxNumTokens, maxBatchSize, tokensPerBlock: 32, layout, capSlidingWindows: true });
  const o: EngineOptions = {
    maxBatchSize,
    maxNumTokens,
    maxSeqLen: r.isl + r.osl,
    ppSize: 1,
    capacityPolicy: "guaranteed_no_evict",
    chunking: null,
    tokensPerBlock: 32,
    numBlocks: kv.numBlocks,
    enableBlockReuse: false,
    arrivals: { kind: "concurrency", concurrency: s.concurrency },
    overlap,
  };
  if (ranks > 1) {
    o.attentionDpRanks = ranks;
    const balance = method?.attentionDpBalance?.(r.modelPath);
    if (balance) o.attentionDpBalance = balance;
  }
  if (speculative) o.speculative = speculative;
  return o;
}

async function replay(
  options: EngineOptions,
  predictor: BatchPredictor,
  requests: readonly SimRequest[],
  warmup: readonly SimRequest[],
  timing: TimingSettings,
): Promise<{ ttft: number; tpot: number }> {
  // As jobs run them, with the host/device timing (attention DP: the busiest rank's host). Speculative
  // steps carry their drafts to the predictor (the attention-DP ranks fill them in themselves).
  const result =
    (options.attentionDpRanks ?? 1) > 1
      ? await runAttentionDp(options, requests, withHostDeviceTiming(predictor, timing), { warmup })
      : await runSimulation(
          new Simulation(options, requests, { warmup }),
          withHostDeviceTiming(options.speculative ? new DraftTokensPredictor(predictor, options.speculative.maxDraftLen) : predictor, timing),
          { yieldEveryMs: 1000 },
        );
  const m = meanLatencies(result.requests);
  if (m.finished === 0) throw new Error(result.requests.find((q) => q.error)?.error ?? "no request finished");
  return { ttft: m.ttftMs, tpot: m.tpotMs };
}

/**
 * Replays every TensorRT-LLM aggregated row of silicon_sample.csv (dense, MoE, attention-DP; every
 * system with a catalog GPU) with each predictor, and says per row why not when it cannot; MAPE per group
 * of model × system × precision over every replayed row (no exclusions).
 */
export async function validateAllRows(csvText: string, opts: AllRowsOptions): Promise<AllRowsReport> {
  // Rows of collections that list MoE parallelism squared are read back as they ran (squaredParallelism.ts).
  const { rows: parsed, cols } = unsquareParallelism(parseSiliconCsv(csvText), parallelColumns(csvText));
  // Read over the whole CSV: a filter does not change a row's method.
  const signatures = slotSignatures(parsed);
  const twins = disaggregatedTwins(csvText);
  const all = parsed.filter((r) => r.backend === "trtllm" && r.mode === "agg" && (opts.filter?.(r) ?? true));
  const predictors = new Map<string, Promise<BatchPredictor>>();
  const rows: AllRowsRow[] = [];
  const total = all.length * opts.predictors.length;
  const waves = opts.waves ?? 4;
  const load: AllRowsLoad = opts.load ?? "benchmark";
  for (const kind of opts.predictors) {
    for (const r of all) {
      const c: ParallelColumns | undefined = cols.get(r.id);
      const setup: RowSetup | { reason: string } = twins.has(r.id)
        ? {
            reason:
              "a disaggregated run recorded as agg (a disagg row with the same concurrency and TPOT carries its tp_size, the deployment's GPU count, as context and generation TP)",
          }
        : rowSetup(r, c);
      const row: AllRowsRow = {
        id: r.id,
        predictor: kind,
        model_path: r.modelPath,
        system: r.system,
        precision: r.precision,
        isl: r.isl,
        osl: r.osl,
        concurrency: r.concurrency,
        setup: "reason" in setup ? "" : describeSetup(setup, rowMtpDrafts(r, setup)),
        method: load === "benchmark" ? methodForRow(r, signatures).name : "simple",
        silicon_ttft_ms: r.ttftMs,
        silicon_tpot_ms: r.tpotMs,
        predicted_ttft_ms: null,
        predicted_tpot_ms: null,
        ttft_error_pct: null,
        tpot_error_pct: null,
        reason: "reason" in setup ? setup.reason : null,
      };
      if (!("reason" in setup)) {
        try {
          const cfg = rowPredictorConfig(r, setup, kind, opts.systemsDir ?? "");
          const key = JSON.stringify(cfg);
          let p = predictors.get(key);
          if (!p) {
            p = createPredictor(cfg, {
              ...(opts.efficiency ? { efficiency: opts.efficiency } : {}),
              ...(opts.overheads ? { overheads: opts.overheads } : {}),
            }) as Promise<BatchPredictor>;
            predictors.set(key, p);
          }
          const predictor = await p;
          const method = load === "benchmark" ? methodForRow(r, signatures) : null;
          const drafts = rowMtpDrafts(r, setup);
          const options = rowEngine(
            r,
            setup,
            cfg,
            opts.overlap !== false,
            method,
            drafts > 0 ? rowMtpOptions(drafts, opts.mtpAcceptance ?? ROW_MTP_ACCEPTANCE) : undefined,
          );
          let requests: SimRequest[];
          let warmup: SimRequest[] = [];
          if (method) {
            // The whole closed loop (silicon_concurrency for attention-DP rows) is the client's; the
            // ranks share it in runAttentionDp.
            const wl = benchmarkWorkload({ isl: r.isl, osl: r.osl, concurrency: setup.concurrency }, method, {
              ...(opts.maxRequests !== undefined ? { maxRequests: Math.max(opts.maxRequests, setup.concurrency) } : {}),
            });
            requests = wl.requests;
            warmup = wl.warmup;
          } else {
            const cap = opts.maxRequests ?? 1024;
            const n = Math.min(Math.max(waves * setup.concurrency, 64), Math.max(cap, setup.concurrency));
            requests = Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: r.isl, outputTokens: r.osl }));
          }
          const run = resolveRun(cfg, cfg.databasePath ? { systemsDir: cfg.databasePath } : {});
          const timing: TimingSettings = {
            model: opts.overlap === false ? "non-overlap" : "overlap",
            host: hostCostFor(TRTLLM_PYTORCH_TIMING, gpuFamily(run.gpu)),
            cudaGraphs: TRTLLM_PYTORCH_TIMING.cudaGraphs,
            layers: run.model.numLayers,
          };
          const res = await replay(options, predictor, requests, warmup, timing);
          row.predicted_ttft_ms = res.ttft;
          row.predicted_tpot_ms = res.tpot;
          row.ttft_error_pct = (100 * (res.ttft - r.ttftMs)) / r.ttftMs;
          row.tpot_error_pct = (100 * (res.tpot - r.tpotMs)) / r.tpotMs;
        } catch (e) {
          row.reason = `not replayable: ${(e as Error).message.split("\n")[0]!.slice(0, 200)}`;
        }
      }
      rows.push(row);
      opts.onRow?.(rows.length, total);
    }
  }
  return summarizeAllRows(rows, opts.predictors);
}

function summarizeAllRows(rows: AllRowsRow[], predictors: readonly AllRowsPredictor[]): AllRowsReport {
  const groups: AllRowsGroup[] = [];
  const summary: AllRowsReport["summary"] = {};
  for (const p of predictors) {
    const rs = rows.filter((r) => r.predictor === p);
    const done = rs.filter((r) => r.reason === null);
    summary[p] = {
      rows: rs.length,
      replayed: done.length,
      tpot_mape: mape(done.map((r) => r.tpot_error_pct!)),
      ttft_mape: mape(done.map((r) => r.ttft_error_pct!)),
    };
    const keys = [...new Set(rs.map((r) => `${r.model_path}|${r.system}|${r.precision}`))];
    for (const k of keys) {
      const g = rs.filter((r) => `${r.model_path}|${r.system}|${r.precision}` === k);
      const ok = g.filter((r) => r.reason === null);
      const tpot = mape(ok.map((r) => r.tpot_error_pct!));
      const ttft = mape(ok.map((r) => r.ttft_error_pct!));
      groups.push({
        predictor: p,
        model_path: g[0]!.model_path,
        system: g[0]!.system,
        precision: g[0]!.precision,
        rows: g.length,
        replayed: ok.length,
        tpot_mape: tpot,
        ttft_mape: ttft,
        meets_target: ok.length >= 20 ? tpot <= TARGETS[p].tpot && ttft <= TARGETS[p].ttft : null,
      });
    }
  }
  groups.sort((a, b) => a.predictor.localeCompare(b.predictor) || b.rows - a.rows || a.model_path.localeCompare(b.model_path));
  return { rows, groups, summary };
}

const fmt = (x: number, w: number): string => (Number.isFinite(x) ? x.toFixed(1) : "-").padStart(w);

/** The per-group table (every group), the per-predictor totals and the reasons rows were not replayed. */
export function formatAllRowsTable(report: AllRowsReport): string {
  const lines: string[] = [];
  lines.push(
    `${"predictor".padEnd(9)} ${"model".padEnd(34)} ${"system".padEnd(9)} ${"prec".padEnd(4)} ${"rows".padStart(5)} ${"run".padStart(5)} ${"TPOT MAPE %".padStart(11)} ${"TTFT MAPE %".padStart(11)}  target`,
  );
  for (const g of report.groups) {
    lines.push(
      `${g.predictor.padEnd(9)} ${g.model_path.padEnd(34)} ${g.system.padEnd(9)} ${(g.precision || "-").padEnd(4)} ${String(g.rows).padStart(5)} ${String(g.replayed).padStart(5)} ${fmt(g.tpot_mape, 11)} ${fmt(g.ttft_mape, 11)}  ${g.meets_target === null ? "(< 20 rows)" : g.meets_target ? "met" : "missed"}`,
    );
  }
  lines.push("");
  for (const [p, s] of Object.entries(report.summary)) {
    lines.push(`${p.padEnd(9)} all rows: ${s.replayed} of ${s.rows} replayed; TPOT MAPE ${fmt(s.tpot_mape, 5)} %, TTFT MAPE ${fmt(s.ttft_mape, 5)} %`);
  }
  const reasons = new Map<string, number>();
  for (const r of report.rows) if (r.reason !== null) reasons.set(`${r.predictor}: ${r.reason}`, (reasons.get(`${r.predictor}: ${r.reason}`) ?? 0) + 1);
  if (reasons.size > 0) {
    lines.push("", "not replayed:");
    for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(4)}  ${why}`);
  }
  return lines.join("\n");
}
