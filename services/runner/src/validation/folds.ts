import { SeededRandom } from "@servesim/engine";

/**
 * Honest fitting by selection: every candidate parameter set was replayed on every row, giving one
 * error matrix; a fit picks the candidate with the lowest loss on its training rows, and the
 * out-of-sample error of a row is the error of the candidate picked without it.
 */
export interface CandidateErrors {
  /** Signed relative errors (percent) per row, in row order. */
  ttft: Float64Array;
  tpot: Float64Array;
}

/** Training loss: mean absolute TTFT error + mean absolute TPOT error (equal weight) over the rows. */
export function lossOn(c: CandidateErrors, rows: readonly number[]): number {
  let a = 0;
  let b = 0;
  for (const i of rows) {
    a += Math.abs(c.ttft[i]!);
    b += Math.abs(c.tpot[i]!);
  }
  return rows.length === 0 ? Number.POSITIVE_INFINITY : (a + b) / rows.length;
}

/** Index of the candidate with the lowest loss on `rows` (the first one on ties). */
export function pickCandidate(cands: readonly CandidateErrors[], rows: readonly number[]): number {
  let best = 0;
  let bestLoss = Number.POSITIVE_INFINITY;
  cands.forEach((c, k) => {
    const l = lossOn(c, rows);
    if (l < bestLoss) {
      bestLoss = l;
      best = k;
    }
  });
  return best;
}

export interface FoldResult {
  /** MAPEs (percent) over all rows, each row predicted by the candidate fitted without it (or with it, in-sample). */
  ttftMape: number;
  tpotMape: number;
  /** Candidate picked per fold (fold name → candidate index). */
  picks: { fold: string; candidate: number; rows: number }[];
}

function evaluate(cands: readonly CandidateErrors[], folds: readonly { name: string; test: number[] }[], n: number): FoldResult {
  const all = Array.from({ length: n }, (_, i) => i);
  let ttft = 0;
  let tpot = 0;
  const picks: FoldResult["picks"] = [];
  for (const f of folds) {
    const test = new Set(f.test);
    const train = all.filter((i) => !test.has(i));
    const k = pickCandidate(cands, train.length > 0 ? train : all);
    picks.push({ fold: f.name, candidate: k, rows: f.test.length });
    for (const i of f.test) {
      ttft += Math.abs(cands[k]!.ttft[i]!);
      tpot += Math.abs(cands[k]!.tpot[i]!);
    }
  }
  return { ttftMape: ttft / n, tpotMape: tpot / n, picks };
}

/** In-sample: one candidate picked on all rows and scored on them. */
export function inSample(cands: readonly CandidateErrors[], n: number): FoldResult {
  const all = Array.from({ length: n }, (_, i) => i);
  const k = pickCandidate(cands, all);
  return { ttftMape: lossPart(cands[k]!.ttft, all), tpotMape: lossPart(cands[k]!.tpot, all), picks: [{ fold: "all rows", candidate: k, rows: n }] };
}

const lossPart = (xs: Float64Array, rows: readonly number[]): number => rows.reduce((s, i) => s + Math.abs(xs[i]!), 0) / rows.length;

/** k-fold by row: rows shuffled with a seeded generator, row i of the shuffle in fold i mod k. */
export function kFold(cands: readonly CandidateErrors[], n: number, k = 5, seed = 7): FoldResult {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const folds = Array.from({ length: Math.min(k, n) }, (_, f) => ({ name: `fold ${f + 1}`, test: order.filter((_, i) => i % k === f) }));
  return evaluate(cands, folds, n);
}

/** Leave one group out (e.g. one model): each group predicted by the candidate fitted on the others. */
export function leaveOneGroupOut(cands: readonly CandidateErrors[], groups: readonly string[]): FoldResult {
  const names = [...new Set(groups)];
  const folds = names.map((name) => ({ name, test: groups.flatMap((g, i) => (g === name ? [i] : [])) }));
  return evaluate(cands, folds, groups.length);
}
