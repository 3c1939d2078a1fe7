import type { ParallelColumns } from "./modernRows.js";
import type { SiliconRow } from "./silicon.js";

/** Significant digits to which two rows' TTFT and TPOT must agree to be one measurement listed twice. */
const SAME_MEASUREMENT_DIGITS = 9;

/** GPUs of one HGX node (the `*_sxm` systems): an aggregated row listing more cannot be one node's run. */
const HGX_NODE_GPUS = 8;

const gpus = (r: SiliconRow): number => Math.max(1, r.tp) * Math.max(1, r.attentionDp) * Math.max(1, r.pp);
const beyondNode = (r: SiliconRow): boolean => r.system.endsWith("_sxm") && gpus(r) > HGX_NODE_GPUS;

/**
 * Aggregated rows that list another row's measurement under a larger parallel layout, by row id → the
 * row whose layout the run had.
 *
 * InferenceX's 2026-04-06 collection lists runs of its 2026-03-25 collection again, with the same
 * measured TTFT and TPOT to the last digits but the layout rewritten: TP 8 EP 8 as tp_size 64 with MoE
 * TP 8 × EP 8, attention DP 8 as 64 ranks (DeepSeek-R1 on H200 and B200, measured 2026-01-14). An
 * 8-GPU node cannot have run 64 ranks; two rows with one measurement are one run, and the one that
 * fits on the node is the layout that ran. Rows are matched on model, system, precision, ISL, OSL,
 * silicon_concurrency and both latencies; only a row beyond one HGX node is remapped (two layouts that
 * both fit say nothing about which one ran).
 */
export function relistedRuns(rows: readonly SiliconRow[], cols: ReadonlyMap<string, ParallelColumns>): Map<string, SiliconRow> {
  const groups = new Map<string, SiliconRow[]>();
  for (const r of rows) {
    if (r.backend !== "trtllm" || r.mode !== "agg") continue;
    const c = cols.get(r.id)?.siliconConcurrency;
    if (c == null) continue;
    const k = [
      r.modelPath,
      r.system,
      r.precision,
      r.isl,
      r.osl,
      c,
      r.ttftMs.toPrecision(SAME_MEASUREMENT_DIGITS),
      r.tpotMs.toPrecision(SAME_MEASUREMENT_DIGITS),
    ].join("|");
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const out = new Map<string, SiliconRow>();
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    const smallest = list.reduce((a, b) => (gpus(b) < gpus(a) ? b : a));
    if (beyondNode(smallest)) continue;
    for (const r of list) if (beyondNode(r)) out.set(r.id, smallest);
  }
  return out;
}
