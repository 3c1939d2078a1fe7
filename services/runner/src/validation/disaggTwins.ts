import { parse } from "csv-parse/sync";

/** Relative TPOT difference within which an aggregated row and its disaggregated twin are one measurement. */
const SAME_RUN_TPOT = 0.05;

/**
 * Aggregated rows that are disaggregated runs, by row id → the disaggregated row that records the same run.
 *
 * Some collections flatten a Dynamo disaggregated deployment into an "agg" row whose tp_size is the
 * deployment's GPU count (DeepSeek-R1 FP4 on GB200 in silicon_sample.csv: TP 12–64, which 128 attention
 * heads do not divide or which no aggregated GB200 recipe uses). The same run appears as a "disagg" row
 * whose prefill_tp_size and decode_tp_size both hold that count (and whose decode MoE TP/EP are the
 * aggregated row's), at the same ISL, OSL and silicon_concurrency, with TPOT equal within a few percent (and usually a third row with the real worker
 * sizes, e.g. context TP 4 and generation TP 16). Replaying such a row as one aggregated engine of that TP
 * would price a deployment that never ran; its worker counts are not recorded, so it cannot be replayed as
 * a cluster either.
 */
export function disaggregatedTwins(csvText: string): Map<string, string> {
  const lines = parse(csvText, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const out = new Map<string, string>();
  if (lines.length === 0) return out;
  const col = new Map(lines[0]!.map((h, i) => [h.trim(), i]));
  const get = (c: string[], k: string): string => (col.has(k) ? (c[col.get(k)!] ?? "").trim() : "");
  const concurrency = (c: string[]): string => /silicon_concurrency=(\d+)/.exec(get(c, "silicon_data_source"))?.[1] ?? "";
  const key = (c: string[], tp: string, moeTp: string, moeEp: string): string =>
    [get(c, "model_path"), get(c, "system"), get(c, "precision"), get(c, "isl"), get(c, "osl"), concurrency(c), tp, moeTp, moeEp].join("|");
  const flattened = new Map<string, Array<{ id: string; tpot: number }>>();
  for (const c of lines.slice(1)) {
    if (get(c, "backend") !== "trtllm" || get(c, "mode") !== "disagg" || concurrency(c) === "") continue;
    const tp = get(c, "prefill_tp_size");
    if (tp === "" || tp !== get(c, "decode_tp_size")) continue;
    const k = key(c, tp, get(c, "decode_moe_tp_size"), get(c, "decode_moe_ep_size"));
    const list = flattened.get(k) ?? [];
    list.push({ id: get(c, "id"), tpot: Number(get(c, "silicon_tpot_ms")) });
    flattened.set(k, list);
  }
  for (const c of lines.slice(1)) {
    if (get(c, "backend") !== "trtllm" || get(c, "mode") !== "agg" || concurrency(c) === "") continue;
    const tpot = Number(get(c, "silicon_tpot_ms"));
    const twin = flattened
      .get(key(c, get(c, "tp_size"), get(c, "moe_tp_size"), get(c, "moe_ep_size")))
      ?.find((d) => Math.abs(d.tpot / tpot - 1) <= SAME_RUN_TPOT);
    if (twin) out.set(get(c, "id"), twin.id);
  }
  return out;
}
