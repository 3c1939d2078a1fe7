/**
 * Does the search pick right? On measured rows of one setup (same model, system, precision and ISL/OSL,
 * varying TP and concurrency), the configuration servesim ranks best under an objective should be the
 * best measured one, or within 5 % of it.
 *
 * Per row, output tokens/s per GPU = concurrency × OSL / (TTFT + (OSL − 1) × TPOT) / GPUs, from the
 * measured means for the measured ranking and from servesim's predictions for servesim's (the same
 * formula for both). Per setup the objectives are a bound on mean TPOT at the 25th, 50th and 75th
 * percentile of the setup's measured TPOTs (tight, medium, loose) and the medium TPOT bound together with
 * the median measured TTFT, so every objective is met by some measured configuration. servesim's pick
 * is the row with the highest predicted throughput among those it predicts to meet the objective; it
 * passes when the pick meets the objective as measured and its measured throughput is at least 95 % of
 * the best measured throughput among the rows meeting it.
 */

/** One measured row with servesim's prediction (ValidationRow's fields). */
export interface RankedRow {
  id: string;
  predictor: string;
  model: string;
  system: string;
  precision: string;
  tp: number;
  isl: number;
  osl: number;
  concurrency: number;
  silicon_ttft_ms: number;
  silicon_tpot_ms: number;
  predicted_ttft_ms: number;
  predicted_tpot_ms: number;
}

export interface RankingCase {
  predictor: string;
  setup: string;
  rows: number;
  objective: string;
  /** servesim's pick and the best measured row: "tp2 c64". */
  picked: string | null;
  best: string;
  /** Measured throughput per GPU of the pick / of the best (0 when the pick misses the objective as measured). */
  ratio: number;
  pickMeetsObjective: boolean;
  pass: boolean;
}

export interface RankingSummary {
  cases: RankingCase[];
  setups: number;
  passed: number;
}

export const MIN_ROWS = 10;
export const TOLERANCE = 0.05;

/** Output tokens/s per GPU of a concurrency-limited run with mean TTFT and TPOT (ms). */
export function tokensPerGpu(concurrency: number, osl: number, ttftMs: number, tpotMs: number, gpus: number): number {
  return (concurrency * osl) / ((ttftMs + (osl - 1) * tpotMs) / 1000) / gpus;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(s.length - 1, lo + 1)]! - s[lo]!) * (pos - lo);
};

const label = (r: RankedRow): string => `tp${r.tp} c${r.concurrency}`;

export function rankingCheck(rows: readonly RankedRow[]): RankingSummary {
  const groups = new Map<string, RankedRow[]>();
  for (const r of rows) {
    const key = [r.predictor, r.model, r.system, r.precision, `${r.isl}/${r.osl}`].join(" | ");
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const cases: RankingCase[] = [];
  let setups = 0;
  for (const [key, g] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (g.length < MIN_ROWS) continue;
    setups++;
    const measured = (r: RankedRow) => tokensPerGpu(r.concurrency, r.osl, r.silicon_ttft_ms, r.silicon_tpot_ms, r.tp);
    const predicted = (r: RankedRow) => tokensPerGpu(r.concurrency, r.osl, r.predicted_ttft_ms, r.predicted_tpot_ms, r.tp);
    const tpots = g.map((r) => r.silicon_tpot_ms);
    const ttfts = g.map((r) => r.silicon_ttft_ms);
    const objectives: { name: string; tpot: number; ttft: number }[] = [
      { name: "TPOT <= p25", tpot: quantile(tpots, 0.25), ttft: Infinity },
      { name: "TPOT <= p50", tpot: quantile(tpots, 0.5), ttft: Infinity },
      { name: "TPOT <= p75", tpot: quantile(tpots, 0.75), ttft: Infinity },
      { name: "TPOT <= p50, TTFT <= p50", tpot: quantile(tpots, 0.5), ttft: quantile(ttfts, 0.5) },
    ];
    const [predictor, ...setup] = key.split(" | ");
    for (const o of objectives) {
      const meetsMeasured = (r: RankedRow) => r.silicon_tpot_ms <= o.tpot && r.silicon_ttft_ms <= o.ttft;
      const meetsPredicted = (r: RankedRow) => r.predicted_tpot_ms <= o.tpot && r.predicted_ttft_ms <= o.ttft;
      const byMeasured = g.filter(meetsMeasured).sort((a, b) => measured(b) - measured(a));
      const byPredicted = g.filter(meetsPredicted).sort((a, b) => predicted(b) - predicted(a));
      const best = byMeasured[0]!;
      const pick = byPredicted[0];
      const pickMeets = pick !== undefined && meetsMeasured(pick);
      const ratio = pick && pickMeets ? measured(pick) / measured(best) : 0;
      cases.push({
        predictor: predictor!,
        setup: setup.join(" "),
        rows: g.length,
        objective: `${o.name} (${o.tpot.toFixed(1)} ms${Number.isFinite(o.ttft) ? `, ${o.ttft.toFixed(0)} ms` : ""})`,
        picked: pick ? label(pick) : null,
        best: label(best),
        ratio,
        pickMeetsObjective: pickMeets,
        pass: pickMeets && ratio >= 1 - TOLERANCE,
      });
    }
  }
  return { cases, setups, passed: cases.filter((c) => c.pass).length };
}

/** The cases as a Markdown table (README-ready). */
export function formatRankingTable(s: RankingSummary): string {
  const head = "| predictor | setup (model, system, precision, ISL/OSL) | rows | objective | servesim's pick | best measured | pick / best | pass |";
  const rule = "| --- | --- | --- | --- | --- | --- | --- | --- |";
  const lines = s.cases.map(
    (c) =>
      `| ${c.predictor} | ${c.setup} | ${c.rows} | ${c.objective} | ${c.picked ?? "none"} | ${c.best} | ${c.pickMeetsObjective ? `${(100 * c.ratio).toFixed(1)} %` : "misses the objective"} | ${c.pass ? "yes" : "**no**"} |`,
  );
  return [head, rule, ...lines, "", `${s.passed} of ${s.cases.length} cases pass (${s.setups} setups with >= ${MIN_ROWS} rows, 4 objectives each).`].join("\n");
}
