import { type CandidateErrors, type FoldResult, inSample, kFold, leaveOneGroupOut } from "./folds.js";

/**
 * The per-request cost of the serving stack around the engines (the frontend's HTTP handling, tokenization
 * and routing, the prefill response back to the router and the generation request out: Dynamo's frontend
 * and `PrefillRouter`, or `tensorrt_llm/serve/openai_disagg_server.py`), fitted on the replayed rows.
 * Candidates are 0–500 ms in 5 ms steps; each adds its value to every replayed TTFT (the closed loop's
 * feedback of the extra delay on the request rate is left out, so TPOT is unchanged) and the fit picks the
 * one with the lowest MAPE on its training rows (folds.ts): in-sample, 5-fold by row and leave-one-model-out.
 */
export const OVERHEAD_CANDIDATES_MS: readonly number[] = Array.from({ length: 101 }, (_, k) => 5 * k);

/** One replayed row: measured and simulated (no overhead) TTFT and TPOT, and the row's model. */
export interface OverheadFitRow {
  model: string;
  silicon_ttft_ms: number;
  silicon_tpot_ms: number;
  predicted_ttft_ms: number;
  predicted_tpot_ms: number;
}

export interface OverheadFitResult {
  ttft_mape: number;
  tpot_mape: number;
  /** Overhead picked per fold (ms) and the fold's row count. */
  picks: { fold: string; overhead_ms: number; rows: number }[];
}

export interface OverheadFit {
  rows: number;
  in_sample: OverheadFitResult;
  five_fold: OverheadFitResult;
  leave_one_model_out: OverheadFitResult;
}

function candidates(rows: readonly OverheadFitRow[]): CandidateErrors[] {
  const tpot = Float64Array.from(rows, (r) => (100 * (r.predicted_tpot_ms - r.silicon_tpot_ms)) / r.silicon_tpot_ms);
  return OVERHEAD_CANDIDATES_MS.map((o) => ({
    ttft: Float64Array.from(rows, (r) => (100 * (r.predicted_ttft_ms + o - r.silicon_ttft_ms)) / r.silicon_ttft_ms),
    tpot,
  }));
}

const asResult = (f: FoldResult): OverheadFitResult => ({
  ttft_mape: f.ttftMape,
  tpot_mape: f.tpotMape,
  picks: f.picks.map((p) => ({ fold: p.fold, overhead_ms: OVERHEAD_CANDIDATES_MS[p.candidate]!, rows: p.rows })),
});

/** Fits the per-request overhead on the rows: in-sample, 5-fold by row and leave-one-model-out. */
export function fitRequestOverhead(rows: readonly OverheadFitRow[]): OverheadFit {
  const c = candidates(rows);
  return {
    rows: rows.length,
    in_sample: asResult(inSample(c, rows.length)),
    five_fold: asResult(kFold(c, rows.length)),
    leave_one_model_out: asResult(
      leaveOneGroupOut(
        c,
        rows.map((r) => r.model),
      ),
    ),
  };
}

/** Text: one line per evaluation, with the overheads picked. */
export function formatOverheadFit(predictor: string, f: OverheadFit): string[] {
  const picks = (r: OverheadFitResult) => r.picks.map((p) => (r.picks.length === 1 ? `${p.overhead_ms} ms` : `${p.fold}: ${p.overhead_ms} ms`)).join(", ");
  const line = (name: string, r: OverheadFitResult) =>
    `  ${name.padEnd(22)} TTFT MAPE ${r.ttft_mape.toFixed(1).padStart(6)} %, TPOT MAPE ${r.tpot_mape.toFixed(1).padStart(6)} % (overhead ${picks(r)})`;
  return [
    `${predictor}: per-request overhead fitted on ${f.rows} rows (added to each TTFT):`,
    line("in-sample", f.in_sample),
    line("5-fold by row", f.five_fold),
    line("leave-one-model-out", f.leave_one_model_out),
  ];
}
