import type { ParallelColumns } from "./modernRows.js";
import type { SiliconRow } from "./silicon.js";

/** GPUs of one HGX node (the `*_sxm` systems): an aggregated row listing more cannot be one node's run. */
const HGX_NODE_GPUS = 8;

const gpus = (r: SiliconRow): number => Math.max(1, r.tp) * Math.max(1, r.attentionDp) * Math.max(1, r.pp);

/** The layout a row's run had, where the row lists it in another convention. */
export interface RunLayout {
  row: SiliconRow;
  cols: ParallelColumns;
}

/**
 * Aggregated rows that list their run's layout as TP × EP, by row id → the layout that ran.
 *
 * InferenceX's 2026-04-06 collection and its database dumps write an expert-parallel run's layout as
 * tp_size (or attention_dp_size) = TP × EP, moe_tp_size = TP, moe_ep_size = EP: a TP 8 EP 8 run as
 * tp_size 64 with MoE TP 8 × EP 8, attention DP 8 as 64 ranks. The 2026-04-06 collection lists runs of the
 * 2026-03-25 collection again that way, with the same TTFT and TPOT to the last digits: all 38 such pairs
 * in silicon_sample.csv (DeepSeek-R1 on H200 and B200) pair a row of that form with a row of TP (or ranks)
 * = moe_tp_size and MoE EP = moe_ep_size. An 8-GPU node cannot have run 64 ranks, so a row on an HGX
 * system (`*_sxm`) beyond one node whose TP (or ranks) is MoE TP × EP replays with TP (or ranks) = MoE TP
 * and its experts over moe_ep_size ranks.
 */
export function relistedLayouts(rows: readonly SiliconRow[], cols: ReadonlyMap<string, ParallelColumns>): Map<string, RunLayout> {
  const out = new Map<string, RunLayout>();
  for (const r of rows) {
    const c = cols.get(r.id);
    if (!c || r.backend !== "trtllm" || r.mode !== "agg" || !r.system.endsWith("_sxm") || gpus(r) <= HGX_NODE_GPUS) continue;
    const adp = r.attentionDp > 1;
    const listed = adp ? r.attentionDp : r.tp;
    if (c.moeTp <= 1 || c.moeEp <= 1 || c.moeTp * c.moeEp !== listed || c.moeTp % c.moeEp !== 0) continue;
    const ran = c.moeTp;
    out.set(r.id, {
      row: { ...r, tp: adp ? r.tp : ran, attentionDp: adp ? ran : r.attentionDp },
      cols: { ...c, moeTp: ran / c.moeEp, moeEp: c.moeEp },
    });
  }
  return out;
}
