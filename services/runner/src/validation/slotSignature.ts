import type { SiliconRow } from "./silicon.js";

/**
 * Whether a collection's server made one request of the client's closed loop wait for a slot, read from
 * the rows' own signature. A closed loop of `c` requests on a server with `c − 1` slots adds one
 * inter-completion interval (≈ TPOT × OSL / c) to every TTFT, so TTFT grows with OSL at a fixed ISL and
 * concurrency; with `c` slots it does not. For each source file, the rows measured at the same TP,
 * ISL and concurrency over several OSLs give the slope ratio
 *   r = (TTFT(OSL_max) − TTFT(OSL_min)) / (TPOT·OSL/c at OSL_max − TPOT·OSL/c at OSL_min),
 * ≈ 1 with the slot wait and ≈ 0 without; the file's median decides (≥ 0.5: the slot wait). The
 * measured TTFTs choose between the two server set-ups (a binary choice per file, not a fit of levels).
 * A file without two OSLs at any such point keeps its method's default.
 */
export interface SlotSignature {
  /** Median slope ratio of the file's points. */
  ratio: number;
  /** Points (TP × ISL × concurrency with ≥ 2 OSLs) it was read from. */
  points: number;
  slotWait: boolean;
}

/** Signatures by source file (`source_file=...` of silicon_data_source). */
export type SlotSignatures = ReadonlyMap<string, SlotSignature>;

/** The `source_file=` part of a row's silicon_data_source ("" when absent). */
export function sourceFile(source: string): string {
  return /source_file=([^;]*)/.exec(source)?.[1]?.trim() ?? "";
}

/** Reads the signature of every source file with at least one point. */
export function slotSignatures(rows: readonly SiliconRow[]): Map<string, SlotSignature> {
  const groups = new Map<string, Map<string, SiliconRow[]>>();
  for (const r of rows) {
    const file = sourceFile(r.source);
    if (file === "" || !(r.ttftMs > 0 && r.tpotMs > 0 && r.osl > 0 && r.concurrency > 0)) continue;
    let byPoint = groups.get(file);
    if (!byPoint) groups.set(file, (byPoint = new Map()));
    const key = `${r.modelPath}|${r.backendVersion}|${r.tp}|${r.attentionDp}|${r.isl}|${r.concurrency}`;
    const list = byPoint.get(key);
    if (list) list.push(r);
    else byPoint.set(key, [r]);
  }
  const out = new Map<string, SlotSignature>();
  for (const [file, byPoint] of groups) {
    const ratios: number[] = [];
    for (const list of byPoint.values()) {
      let lo = list[0]!;
      let hi = list[0]!;
      for (const r of list) {
        if (r.osl < lo.osl) lo = r;
        if (r.osl > hi.osl) hi = r;
      }
      if (hi.osl === lo.osl) continue;
      const interval = (r: SiliconRow): number => (r.tpotMs * r.osl) / r.concurrency;
      const d = interval(hi) - interval(lo);
      if (d > 0) ratios.push((hi.ttftMs - lo.ttftMs) / d);
    }
    if (ratios.length === 0) continue;
    ratios.sort((a, b) => a - b);
    const m = ratios.length >> 1;
    const ratio = ratios.length % 2 === 1 ? ratios[m]! : (ratios[m - 1]! + ratios[m]!) / 2;
    out.set(file, { ratio, points: ratios.length, slotWait: ratio >= 0.5 });
  }
  return out;
}
