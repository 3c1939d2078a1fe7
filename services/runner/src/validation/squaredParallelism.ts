import { lookupGpu } from "@servesim/perf";
import type { ParallelColumns } from "./modernRows.js";
import type { SiliconRow } from "./silicon.js";

/**
 * The collection a row was exported in: its `source_file=`, else the first field of silicon_data_source
 * (InferenceX's `db-dump/<date>`).
 */
export function collectionOf(source: string): string {
  return /source_file=([^;]*)/.exec(source)?.[1]?.trim() ?? source.split(";")[0]!.trim();
}

/** MoE rows whose listed world (TP × attention DP) is moe_tp_size × moe_ep_size. */
function squaredShape(r: SiliconRow, c: ParallelColumns | undefined): c is ParallelColumns {
  const dp = Math.max(1, r.attentionDp);
  return c !== undefined && r.backend === "trtllm" && r.mode === "agg" && c.moeEp > 1 && c.moeTp > 0 && r.tp * dp === c.moeTp * c.moeEp;
}

/**
 * Collections that list an MoE run's parallelism squared, and the rows to read back.
 *
 * InferenceX's later exports (its 2026-04-06 file, the 2026-04-27 db dump) write a run launched with
 * `tp T, ep E` on T GPUs as moe_tp_size T, moe_ep_size E and tp_size (or attention_dp_size) T × E: DeepSeek-R1
 * "tp8_ep8" rows on one 8-GPU B200 node list TP 64. The 2026-03-25 export holds many of the same runs with
 * identical TTFT and TPOT and lists them as TensorRT-LLM ran them (T GPUs, moe_tp_size T / E, moe_ep_size E).
 * A collection is read as squared when one of its aggregated MoE rows lists a world larger than its system's
 * node that equals moe_tp_size × moe_ep_size (an aggregated engine of these recipes is one node); every MoE row
 * of that collection with that shape is then read back as T GPUs.
 */
export function squaredParallelismRows(rows: readonly SiliconRow[], cols: ReadonlyMap<string, ParallelColumns>): Set<string> {
  const squared = new Set<string>();
  for (const r of rows) {
    const c = cols.get(r.id);
    const node = lookupGpu(r.system)?.numGpusPerNode ?? 0;
    const world = r.tp * Math.max(1, r.attentionDp);
    if (node > 0 && world > node && squaredShape(r, c)) squared.add(collectionOf(r.source));
  }
  const ids = new Set<string>();
  for (const r of rows) {
    const c = cols.get(r.id);
    if (squared.has(collectionOf(r.source)) && squaredShape(r, c) && c.moeTp % c.moeEp === 0) ids.add(r.id);
  }
  return ids;
}

/**
 * A squared row as it ran: T = moe_tp_size GPUs (T attention-DP ranks when it ran attention DP, whose
 * per-rank batch_size is the closed loop ÷ T), MoE TP T / E × EP E.
 */
export function unsquareRow(r: SiliconRow, c: ParallelColumns): { row: SiliconRow; cols: ParallelColumns } {
  const gpus = c.moeTp;
  const dp = r.attentionDp > 1;
  const loop = c.siliconConcurrency ?? r.concurrency * r.attentionDp;
  return {
    row: { ...r, ...(dp ? { attentionDp: gpus, concurrency: Math.max(1, Math.ceil(loop / gpus)) } : { tp: gpus }) },
    cols: { ...c, moeTp: gpus / c.moeEp },
  };
}

/** Rows and columns with every squared row read back (the others unchanged). */
export function unsquareParallelism(
  rows: readonly SiliconRow[],
  cols: ReadonlyMap<string, ParallelColumns>,
): { rows: SiliconRow[]; cols: Map<string, ParallelColumns>; squared: Set<string> } {
  const squared = squaredParallelismRows(rows, cols);
  const outCols = new Map(cols);
  const outRows = rows.map((r) => {
    const c = cols.get(r.id);
    if (!squared.has(r.id) || !c) return r;
    const u = unsquareRow(r, c);
    outCols.set(r.id, u.cols);
    return u.row;
  });
  return { rows: outRows, cols: outCols, squared };
}
