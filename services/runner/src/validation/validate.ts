import { describeFrontEnd, describeTiming, type FrontEndSettings, type HostCostParams, TRTLLM_PYTORCH_TIMING } from "@servesim/engine";
import type { PredictorOptions } from "@servesim/perf";
import { type BenchmarkMethod, methodForRow } from "./benchmarkMethod.js";
import { type Coverage, formatCoverage, siliconCoverage } from "./coverage.js";
import { type CandidateErrors, type FoldResult, inSample, kFold, leaveOneGroupOut } from "./folds.js";
import type { ReplaySettings, ReplayTiming, ValidationPredictor } from "./replay.js";
import { RowPredictors, replayRow, timingFor } from "./replay.js";
import { parseSiliconCsv, type ReplayableRow, type SiliconRow, selectReplayableRows } from "./silicon.js";
import { slotSignatures } from "./slotSignature.js";

/** One replayed silicon row (JSON keys are snake_case for the report file). */
export interface ValidationRow {
  id: string;
  predictor: ValidationPredictor;
  model: string;
  system: string;
  tp: number;
  precision: string;
  isl: number;
  osl: number;
  concurrency: number;
  silicon_ttft_ms: number;
  silicon_tpot_ms: number;
  predicted_ttft_ms: number;
  predicted_tpot_ms: number;
  /** Signed relative errors, percent ((pred − silicon) / silicon). */
  ttft_error_pct: number;
  tpot_error_pct: number;
  /** Left out of the labelled filtered TTFT figure only: TTFT above that of a higher concurrency of the same setup. */
  ttft_artefact: boolean;
  /** Left out of the labelled filtered figures only: robust outlier of the log error ratio (|z| > 3.5 by MAD). */
  ttft_outlier: boolean;
  tpot_outlier: boolean;
}

export interface GroupSummary {
  predictor: ValidationPredictor;
  model: string;
  system: string;
  rows: number;
  /** MAPEs over all the group's rows (percent). */
  tpot_mape: number;
  ttft_mape: number;
}

/**
 * One candidate of a fit: the engine's host costs and the predictor's per-sequence device overhead
 * (device work per scheduled sequence that no kernel table holds: sampling, per-sequence attention setup).
 */
export interface FitCandidate {
  host: HostCostParams;
  devicePerRequestUs: number;
  /** trtllm-serve's front end (tokenization and per-token stream post-processing). */
  frontEnd: FrontEndSettings;
}

/** Fitted parameters of one predictor, scored in-sample and out-of-sample. */
export interface FitSummary {
  parameters: string[];
  candidates: number;
  /** The in-sample pick (what the defaults are set from). */
  fitted: FitCandidate;
  in_sample: { ttft_mape: number; tpot_mape: number };
  kfold: { k: number; ttft_mape: number; tpot_mape: number; picks: { fold: string; params: FitCandidate; rows: number }[] };
  lomo: { ttft_mape: number; tpot_mape: number; picks: { fold: string; params: FitCandidate; rows: number }[] };
}

export interface ValidationReport {
  summary: {
    rows: number;
    coverage: Coverage;
    /** MAPEs per predictor over ALL replayed rows (percent): the headline. */
    tpot_mape_all: Record<string, number>;
    ttft_mape_all: Record<string, number>;
    /** Labelled filtered figures: robust outliers (and, for TTFT, artefact rows) left out. */
    tpot_mape_filtered: Record<string, number>;
    ttft_mape_filtered: Record<string, number>;
    excluded_from_filtered: { ttft_artefact: number; ttft_outlier: Record<string, number>; tpot_outlier: Record<string, number> };
    groups: GroupSummary[];
    /** Present with `fit`: per predictor. */
    fit?: Record<string, FitSummary>;
    settings: { method: string; timing: Record<string, string>; requests_cap?: number };
  };
  rows: ValidationRow[];
}

export interface ValidateOptions {
  predictors: ValidationPredictor[];
  /** Needed for "aic". */
  systemsDir?: string;
  backendVersion?: string;
  replay?: { timing?: ReplayTiming; maxRequests?: number; seed?: number; method?: BenchmarkMethod; predictorOptions?: PredictorOptions };
  /**
   * Fit the host parameters: every candidate replayed on every row, then in-sample, 5-fold by row and
   * leave-one-model-out selection. The rows of the report are those of the in-sample pick.
   */
  fit?: { candidates: FitCandidate[] };
  /** Restrict to some rows (e.g. one model); default all replayable rows. */
  filter?: (row: ReplayableRow) => boolean;
  onRow?: (done: number, total: number) => void;
}

const mape = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + Math.abs(x), 0) / xs.length);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** Flags |z| > 3.5 on log(pred/silicon), z by the median absolute deviation (Iglewicz–Hoaglin). */
export function robustOutliers(ratios: readonly number[]): boolean[] {
  const logs = ratios.map((r) => Math.log(r));
  const m = median(logs);
  const mad = median(logs.map((x) => Math.abs(x - m)));
  if (!(mad > 0)) return logs.map(() => false);
  return logs.map((x) => Math.abs((0.6745 * (x - m)) / mad) > 3.5);
}

/** Rows whose TTFT exceeds the TTFT of a higher concurrency of the same setup (model, system, TP, precision, ISL, OSL). */
export function ttftArtefacts(rows: readonly SiliconRow[]): Set<string> {
  const groups = new Map<string, SiliconRow[]>();
  for (const r of rows) {
    const key = [r.modelPath, r.system, r.tp, r.precision, r.isl, r.osl].join("|");
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out = new Set<string>();
  for (const g of groups.values()) {
    for (const r of g) if (g.some((s) => s.concurrency > r.concurrency && s.ttftMs < r.ttftMs)) out.add(r.id);
  }
  return out;
}

/** Replays each row under one setting: predicted mean TTFT and TPOT per row. */
async function replayAll(
  rows: readonly ReplayableRow[],
  settings: ReplaySettings,
  predictors: RowPredictors,
  tick: () => void,
): Promise<{ ttft: Float64Array; tpot: Float64Array }> {
  const ttft = new Float64Array(rows.length);
  const tpot = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const res = replayRow(rows[i]!, await predictors.get(rows[i]!), settings);
    ttft[i] = res.ttftMs;
    tpot[i] = res.tpotMs;
    tick();
  }
  return { ttft, tpot };
}

const errorsOf = (rows: readonly ReplayableRow[], p: { ttft: Float64Array; tpot: Float64Array }): CandidateErrors => ({
  ttft: Float64Array.from(rows, (r, i) => (100 * (p.ttft[i]! - r.ttftMs)) / r.ttftMs),
  tpot: Float64Array.from(rows, (r, i) => (100 * (p.tpot[i]! - r.tpotMs)) / r.tpotMs),
});

/** Replays every replayable silicon row with each predictor the way it was measured and summarizes the errors. */
export async function validateAgainstSilicon(csvText: string, opts: ValidateOptions): Promise<ValidationReport> {
  const all = parseSiliconCsv(csvText);
  const coverage = siliconCoverage(all);
  const rows = selectReplayableRows(all).filter((r) => opts.filter?.(r) ?? true);
  // Read over the whole CSV: a filter does not change a row's method.
  const signatures = slotSignatures(all);
  const artefacts = ttftArtefacts(rows);
  const candidates = opts.fit?.candidates ?? [undefined];
  const out: ValidationRow[] = [];
  const fits: Record<string, FitSummary> = {};
  const timingText: Record<string, string> = {};
  const total = rows.length * opts.predictors.length * candidates.length;
  let done = 0;
  const tick = () => opts.onRow?.(++done, total);
  for (const predictor of opts.predictors) {
    const base: ReplaySettings = { predictor, slotSignatures: signatures, ...(opts.replay ?? {}) };
    if (opts.systemsDir !== undefined) base.systemsDir = opts.systemsDir;
    if (opts.backendVersion !== undefined) base.backendVersion = opts.backendVersion;
    const preds: { ttft: Float64Array; tpot: Float64Array }[] = [];
    const byDevice = new Map<number, RowPredictors>();
    for (const cand of candidates) {
      let settings = base;
      if (cand) {
        const predictorOptions = { ...base.predictorOptions, overheads: { stepUs: 0, perLayerUs: 0, perRequestUs: cand.devicePerRequestUs } };
        settings = { ...base, predictorOptions, timing: { ...base.timing, host: cand.host, frontEnd: cand.frontEnd } };
      }
      const key = cand?.devicePerRequestUs ?? -1;
      let predictors = byDevice.get(key);
      if (!predictors) byDevice.set(key, (predictors = new RowPredictors(settings)));
      preds.push(await replayAll(rows, settings, predictors, tick));
    }
    let pick = 0;
    if (opts.fit && rows.length > 0) {
      const errs = preds.map((p) => errorsOf(rows, p));
      const ins = inSample(errs, rows.length);
      const kf = kFold(errs, rows.length, 5);
      const lomo = leaveOneGroupOut(
        errs,
        rows.map((r) => r.model),
      );
      pick = ins.picks[0]!.candidate;
      const params = (f: FoldResult) => f.picks.map((p) => ({ fold: p.fold, params: opts.fit!.candidates[p.candidate]!, rows: p.rows }));
      fits[predictor] = {
        parameters: [
          "host.step_us",
          "host.per_request_us",
          "host.launch_us_per_layer",
          "device_per_request_us",
          "front_end.per_prompt_token_us",
          "front_end.per_response_us",
        ],
        candidates: candidates.length,
        fitted: opts.fit.candidates[pick]!,
        in_sample: { ttft_mape: ins.ttftMape, tpot_mape: ins.tpotMape },
        kfold: { k: 5, ttft_mape: kf.ttftMape, tpot_mape: kf.tpotMape, picks: params(kf) },
        lomo: { ttft_mape: lomo.ttftMape, tpot_mape: lomo.tpotMape, picks: params(lomo) },
      };
    }
    const chosen = preds[pick]!;
    const chosen1 = candidates[pick];
    if (rows.length > 0) {
      timingText[predictor] =
        describeTiming(timingFor(rows[0]!, { ...base.timing, ...(chosen1 ? { host: chosen1.host } : {}) })) +
        (chosen1 ? `; device ${chosen1.devicePerRequestUs} µs/sequence` : "") +
        `; ${describeFrontEnd(chosen1?.frontEnd ?? base.timing?.frontEnd ?? TRTLLM_PYTORCH_TIMING.serveFrontEnd)}`;
    }
    const part: ValidationRow[] = rows.map((r, i) => ({
      id: r.id,
      predictor,
      model: r.model,
      system: r.system,
      tp: r.tp,
      precision: r.weightDtype,
      isl: r.isl,
      osl: r.osl,
      concurrency: r.concurrency,
      silicon_ttft_ms: r.ttftMs,
      silicon_tpot_ms: r.tpotMs,
      predicted_ttft_ms: chosen.ttft[i]!,
      predicted_tpot_ms: chosen.tpot[i]!,
      ttft_error_pct: (100 * (chosen.ttft[i]! - r.ttftMs)) / r.ttftMs,
      tpot_error_pct: (100 * (chosen.tpot[i]! - r.tpotMs)) / r.tpotMs,
      ttft_artefact: artefacts.has(r.id),
      ttft_outlier: false,
      tpot_outlier: false,
    }));
    const ttftOut = robustOutliers(part.map((p) => p.predicted_ttft_ms / p.silicon_ttft_ms));
    const tpotOut = robustOutliers(part.map((p) => p.predicted_tpot_ms / p.silicon_tpot_ms));
    part.forEach((p, i) => {
      p.ttft_outlier = ttftOut[i]!;
      p.tpot_outlier = tpotOut[i]!;
    });
    out.push(...part);
  }
  const methods = [...new Set(rows.map((r) => (opts.replay?.method ?? methodForRow(r, signatures)).summary))];
  return summarize(out, opts, coverage, fits, {
    method: methods.join("; "),
    timing: timingText,
    ...(opts.replay?.maxRequests !== undefined ? { requests_cap: opts.replay.maxRequests } : {}),
  });
}

function summarize(
  rows: ValidationRow[],
  opts: ValidateOptions,
  coverage: Coverage,
  fits: Record<string, FitSummary>,
  settings: ValidationReport["summary"]["settings"],
): ValidationReport {
  const tpotF: Record<string, number> = {};
  const ttftF: Record<string, number> = {};
  const tpotAll: Record<string, number> = {};
  const ttftAll: Record<string, number> = {};
  const groups: GroupSummary[] = [];
  const ttftOutliers: Record<string, number> = {};
  const tpotOutliers: Record<string, number> = {};
  for (const p of opts.predictors) {
    const rs = rows.filter((r) => r.predictor === p);
    ttftOutliers[p] = rs.filter((r) => r.ttft_outlier).length;
    tpotOutliers[p] = rs.filter((r) => r.tpot_outlier).length;
    tpotF[p] = mape(rs.filter((r) => !r.tpot_outlier).map((r) => r.tpot_error_pct));
    ttftF[p] = mape(rs.filter((r) => !r.ttft_outlier && !r.ttft_artefact).map((r) => r.ttft_error_pct));
    tpotAll[p] = mape(rs.map((r) => r.tpot_error_pct));
    ttftAll[p] = mape(rs.map((r) => r.ttft_error_pct));
    const keys = [...new Set(rs.map((r) => `${r.model}|${r.system}`))];
    for (const k of keys) {
      const g = rs.filter((r) => `${r.model}|${r.system}` === k);
      groups.push({
        predictor: p,
        model: g[0]!.model,
        system: g[0]!.system,
        rows: g.length,
        tpot_mape: mape(g.map((r) => r.tpot_error_pct)),
        ttft_mape: mape(g.map((r) => r.ttft_error_pct)),
      });
    }
  }
  return {
    summary: {
      rows: new Set(rows.map((r) => r.id)).size,
      coverage,
      tpot_mape_all: tpotAll,
      ttft_mape_all: ttftAll,
      tpot_mape_filtered: tpotF,
      ttft_mape_filtered: ttftF,
      excluded_from_filtered: {
        ttft_artefact: new Set(rows.filter((r) => r.ttft_artefact).map((r) => r.id)).size,
        ttft_outlier: ttftOutliers,
        tpot_outlier: tpotOutliers,
      },
      groups,
      ...(Object.keys(fits).length > 0 ? { fit: fits } : {}),
      settings,
    },
    rows,
  };
}

const fmt = (x: number, w: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "-").padStart(w);
const candText = (c: FitCandidate): string =>
  `host step ${c.host.stepUs} µs, ${c.host.perRequestUs} µs/request, launch ${c.host.launchUsPerLayer} µs/layer; device ${c.devicePerRequestUs} µs/sequence`;

/**
 * The (model, concurrency) cells that contribute most to a MAPE, with their share of the total absolute
 * error and median signed error: where a missed target's remaining error sits.
 */
export function largestCells(rows: readonly ValidationRow[], err: (r: ValidationRow) => number, top = 3): string {
  const cells = new Map<string, number[]>();
  for (const r of rows) {
    const k = `${r.model} c${r.concurrency}`;
    const c = cells.get(k);
    if (c) c.push(err(r));
    else cells.set(k, [err(r)]);
  }
  const total = rows.reduce((s, r) => s + Math.abs(err(r)), 0);
  return [...cells]
    .map(([k, e]) => ({ k, sum: e.reduce((s, x) => s + Math.abs(x), 0), med: median(e), n: e.length }))
    .sort((a, b) => b.sum - a.sum)
    .slice(0, top)
    .map((c) => `${c.k} (${c.n} rows, ${((100 * c.sum) / total).toFixed(0)} % of the error, median ${c.med >= 0 ? "+" : ""}${c.med.toFixed(0)} %)`)
    .join("; ");
}

/** The issue's targets on TensorRT-LLM aggregated rows (out-of-sample MAPE, percent). */
export const TARGETS = { tpot: 8, ttft: 20 } as const;

/** Text: coverage, per-group MAPEs over all rows, the overall figures, the fit's in/out-of-sample figures and the targets. */
export function formatValidationTable(report: ValidationReport): string {
  const s = report.summary;
  const lines: string[] = [formatCoverage(s.coverage), ""];
  lines.push(
    `${"predictor".padEnd(10)} ${"model".padEnd(15)} ${"system".padEnd(9)} ${"rows".padStart(5)} ${"TPOT MAPE %".padStart(12)} ${"TTFT MAPE %".padStart(12)}`,
  );
  for (const g of s.groups) {
    lines.push(
      `${g.predictor.padEnd(10)} ${g.model.padEnd(15)} ${g.system.padEnd(9)} ${String(g.rows).padStart(5)} ${fmt(g.tpot_mape, 12)} ${fmt(g.ttft_mape, 12)}`,
    );
  }
  lines.push("");
  const ex = s.excluded_from_filtered;
  for (const p of Object.keys(s.tpot_mape_all)) {
    lines.push(
      `${p.padEnd(10)} all ${s.rows} rows: TPOT MAPE ${fmt(s.tpot_mape_all[p]!, 5)} %, TTFT MAPE ${fmt(s.ttft_mape_all[p]!, 5)} %` +
        `  (filtered, labelled: TPOT ${fmt(s.tpot_mape_filtered[p]!, 5)} % without ${ex.tpot_outlier[p]} outliers, ` +
        `TTFT ${fmt(s.ttft_mape_filtered[p]!, 5)} % without ${ex.ttft_outlier[p]} outliers and ${ex.ttft_artefact} artefact rows)`,
    );
  }
  if (s.fit) {
    lines.push(
      "",
      `Fitted host parameters (${Object.values(s.fit)[0]!.candidates} candidates; MAPE % over all rows, each predicted by parameters fitted without it):`,
    );
    lines.push(
      `${"predictor".padEnd(10)} ${"in-sample TPOT/TTFT".padStart(20)} ${"5-fold TPOT/TTFT".padStart(18)} ${"LOMO TPOT/TTFT".padStart(16)}  fitted (in-sample)`,
    );
    for (const [p, f] of Object.entries(s.fit)) {
      const pair = (a: number, b: number, w: number) => `${fmt(a, 5)} / ${fmt(b, 5)}`.padStart(w);
      lines.push(
        `${p.padEnd(10)} ${pair(f.in_sample.tpot_mape, f.in_sample.ttft_mape, 20)} ${pair(f.kfold.tpot_mape, f.kfold.ttft_mape, 18)} ${pair(f.lomo.tpot_mape, f.lomo.ttft_mape, 16)}  ${candText(f.fitted)}`,
      );
    }
    for (const [p, f] of Object.entries(s.fit)) {
      const oosTpot = Math.max(f.kfold.tpot_mape, f.lomo.tpot_mape);
      const oosTtft = Math.max(f.kfold.ttft_mape, f.lomo.ttft_mape);
      const met = (x: number, t: number) => (x <= t ? "met" : "missed");
      lines.push(
        `${p.padEnd(10)} targets (out-of-sample, worse of 5-fold and LOMO): TPOT ${fmt(oosTpot, 4)} % ≤ ${TARGETS.tpot} % ${met(oosTpot, TARGETS.tpot)}, ` +
          `TTFT ${fmt(oosTtft, 4)} % ≤ ${TARGETS.ttft} % ${met(oosTtft, TARGETS.ttft)}`,
      );
      const rs = report.rows.filter((r) => r.predictor === p);
      if (oosTtft > TARGETS.ttft) lines.push(`${"".padEnd(10)} TTFT error is largest at ${largestCells(rs, (r) => r.ttft_error_pct)}`);
      if (oosTpot > TARGETS.tpot) lines.push(`${"".padEnd(10)} TPOT error is largest at ${largestCells(rs, (r) => r.tpot_error_pct)}`);
    }
    lines.push('(what is left: docs/timing.md, "Where the error is")');
  }
  lines.push("", `benchmark method: ${s.settings.method}${s.settings.requests_cap ? ` (at most ${s.settings.requests_cap} measured requests per row)` : ""}`);
  for (const [p, t] of Object.entries(s.settings.timing)) lines.push(`timing model (${p}): ${t}`);
  return lines.join("\n");
}

/**
 * The candidates `servesim validate --fit` replays: per-sequence device overhead 20/30/40 µs; trtllm-serve's
 * front end off, or 2 µs per prompt token with 90/110/130 µs per output token (12 sets). The host terms stay
 * at the engine profile's 1 ms per iteration: under the overlap scheduler they are flat in the loss on these
 * rows (docs/timing.md). Plausible magnitudes of TensorRT-LLM's Python executor and server, not a search for
 * the lowest error.
 */
export const FIT_CANDIDATES: readonly FitCandidate[] = [20, 30, 40].flatMap((dev) =>
  [
    { perRequestUs: 0, perPromptTokenUs: 0, perResponseUs: 0 },
    ...[90, 110, 130].map((out) => ({ perRequestUs: 0, perPromptTokenUs: 2, perResponseUs: out })),
  ].map((frontEnd) => ({ host: { stepUs: 1000, perRequestUs: 0, launchUsPerLayer: 0 }, devicePerRequestUs: dev, frontEnd })),
);
