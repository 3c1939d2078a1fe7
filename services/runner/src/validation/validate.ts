import type { ReplaySettings, ValidationPredictor } from "./replay.js";
import { RowPredictors, replayRow } from "./replay.js";
import { parseSiliconCsv, type ReplayableRow, type SiliconRow, selectReplayableRows } from "./silicon.js";

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
  /** Excluded from the TTFT MAPE: TTFT above that of a higher concurrency of the same setup (measurement artefact). */
  ttft_artefact: boolean;
  /** Excluded from the filtered MAPEs: robust outlier of the log error ratio (|z| > 3.5 by median absolute deviation). */
  ttft_outlier: boolean;
  tpot_outlier: boolean;
}

export interface GroupSummary {
  predictor: ValidationPredictor;
  model: string;
  system: string;
  rows: number;
  tpot_mape: number;
  ttft_mape: number;
}

export interface ValidationReport {
  summary: {
    /** Filtered MAPEs per predictor (percent). */
    tpot_mape: Record<string, number>;
    ttft_mape: Record<string, number>;
    /** Unfiltered MAPEs per predictor. */
    tpot_mape_all: Record<string, number>;
    ttft_mape_all: Record<string, number>;
    rows: number;
    /** TTFT artefact rows (per silicon row), and robust outliers per predictor. */
    excluded: { ttft_artefact: number; ttft_outlier: Record<string, number>; tpot_outlier: Record<string, number> };
    groups: GroupSummary[];
    settings: { requests_per_row: string; engine: string };
  };
  rows: ValidationRow[];
}

export interface ValidateOptions {
  predictors: ValidationPredictor[];
  /** Needed for "aic". */
  systemsDir?: string;
  backendVersion?: string;
  replay?: Omit<ReplaySettings, "predictor" | "systemsDir" | "backendVersion">;
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

/**
 * Rows whose TTFT exceeds the TTFT of a higher concurrency of the same setup (model, system, TP, precision,
 * ISL, OSL): the silicon data's low-concurrency TTFT artefact (performance-model.md §11).
 */
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

/** Replays every replayable silicon row with each predictor and summarizes the errors. */
export async function validateAgainstSilicon(csvText: string, opts: ValidateOptions): Promise<ValidationReport> {
  const rows = selectReplayableRows(parseSiliconCsv(csvText)).filter((r) => opts.filter?.(r) ?? true);
  const artefacts = ttftArtefacts(rows);
  const out: ValidationRow[] = [];
  const total = rows.length * opts.predictors.length;
  for (const predictor of opts.predictors) {
    const settings: ReplaySettings = { ...opts.replay, predictor };
    if (opts.systemsDir !== undefined) settings.systemsDir = opts.systemsDir;
    if (opts.backendVersion !== undefined) settings.backendVersion = opts.backendVersion;
    const predictors = new RowPredictors(settings);
    const part: ValidationRow[] = [];
    for (const r of rows) {
      const res = replayRow(r, await predictors.get(r), settings);
      part.push({
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
        predicted_ttft_ms: res.ttftMs,
        predicted_tpot_ms: res.tpotMs,
        ttft_error_pct: (100 * (res.ttftMs - r.ttftMs)) / r.ttftMs,
        tpot_error_pct: (100 * (res.tpotMs - r.tpotMs)) / r.tpotMs,
        ttft_artefact: artefacts.has(r.id),
        ttft_outlier: false,
        tpot_outlier: false,
      });
      opts.onRow?.(out.length + part.length, total);
    }
    const ttftOut = robustOutliers(part.map((p) => p.predicted_ttft_ms / p.silicon_ttft_ms));
    const tpotOut = robustOutliers(part.map((p) => p.predicted_tpot_ms / p.silicon_tpot_ms));
    part.forEach((p, i) => {
      p.ttft_outlier = ttftOut[i]!;
      p.tpot_outlier = tpotOut[i]!;
    });
    out.push(...part);
  }
  return summarize(out, opts);
}

function summarize(rows: ValidationRow[], opts: ValidateOptions): ValidationReport {
  const tpot: Record<string, number> = {};
  const ttft: Record<string, number> = {};
  const tpotAll: Record<string, number> = {};
  const ttftAll: Record<string, number> = {};
  const groups: GroupSummary[] = [];
  const ttftOutliers: Record<string, number> = {};
  const tpotOutliers: Record<string, number> = {};
  for (const p of opts.predictors) {
    const rs = rows.filter((r) => r.predictor === p);
    ttftOutliers[p] = rs.filter((r) => r.ttft_outlier).length;
    tpotOutliers[p] = rs.filter((r) => r.tpot_outlier).length;
    tpot[p] = mape(rs.filter((r) => !r.tpot_outlier).map((r) => r.tpot_error_pct));
    ttft[p] = mape(rs.filter((r) => !r.ttft_outlier && !r.ttft_artefact).map((r) => r.ttft_error_pct));
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
        tpot_mape: mape(g.filter((r) => !r.tpot_outlier).map((r) => r.tpot_error_pct)),
        ttft_mape: mape(g.filter((r) => !r.ttft_outlier && !r.ttft_artefact).map((r) => r.ttft_error_pct)),
      });
    }
  }
  const replay = opts.replay ?? {};
  return {
    summary: {
      tpot_mape: tpot,
      ttft_mape: ttft,
      tpot_mape_all: tpotAll,
      ttft_mape_all: ttftAll,
      rows: new Set(rows.map((r) => r.id)).size,
      excluded: {
        ttft_artefact: new Set(rows.filter((r) => r.ttft_artefact).map((r) => r.id)).size,
        ttft_outlier: ttftOutliers,
        tpot_outlier: tpotOutliers,
      },
      groups,
      settings: {
        requests_per_row: `max(${replay.waves ?? 10} × concurrency, 64), capped at ${replay.maxRequests ?? 1280}${replay.skipFirstWave ? ", first wave excluded" : ""}`,
        engine:
          `trtllm-bench heuristic budgets${replay.maxNumTokens ? ` (max_num_tokens ${replay.maxNumTokens})` : ""}, chunked context ${replay.chunkedPrefill ? "on" : "off"}, ` +
          `GUARANTEED_NO_EVICT, KV from GPU memory, overlap scheduler ${replay.overlap ? "on" : "off"}`,
      },
    },
    rows,
  };
}

const fmt = (x: number, w: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "-").padStart(w);

/** Text table: per-group MAPEs, then the overall summary. */
export function formatValidationTable(report: ValidationReport): string {
  const lines: string[] = [];
  lines.push(
    `${"predictor".padEnd(10)} ${"model".padEnd(15)} ${"system".padEnd(9)} ${"rows".padStart(5)} ${"TPOT MAPE %".padStart(12)} ${"TTFT MAPE %".padStart(12)}`,
  );
  for (const g of report.summary.groups) {
    lines.push(
      `${g.predictor.padEnd(10)} ${g.model.padEnd(15)} ${g.system.padEnd(9)} ${String(g.rows).padStart(5)} ${fmt(g.tpot_mape, 12)} ${fmt(g.ttft_mape, 12)}`,
    );
  }
  lines.push("");
  const ex = report.summary.excluded;
  for (const p of Object.keys(report.summary.tpot_mape)) {
    lines.push(
      `${p.padEnd(10)} overall: TPOT MAPE ${fmt(report.summary.tpot_mape[p]!, 5)} % (all rows ${fmt(report.summary.tpot_mape_all[p]!, 5)} %), ` +
        `TTFT MAPE ${fmt(report.summary.ttft_mape[p]!, 5)} % (all rows ${fmt(report.summary.ttft_mape_all[p]!, 5)} %); ` +
        `outliers excluded: ${ex.tpot_outlier[p]} TPOT, ${ex.ttft_outlier[p]} TTFT`,
    );
  }
  lines.push(`rows: ${report.summary.rows}; ${ex.ttft_artefact} TTFT artefact rows excluded from the TTFT MAPE`);
  lines.push(`requests per row: ${report.summary.settings.requests_per_row}; engine: ${report.summary.settings.engine}`);
  return lines.join("\n");
}
