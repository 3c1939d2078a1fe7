import { InvalidArgumentError } from "@servesim/core";
import { lookupModel, type Precision, parsePrecision } from "@servesim/perf";
import { parse } from "csv-parse/sync";

/** One row of AIConfigurator's silicon_sample.csv (the fields servesim uses). */
export interface SiliconRow {
  id: string;
  /** `silicon_data_source`: which collection measured the row (selects its benchmark method). */
  source: string;
  backend: string;
  backendVersion: string;
  modelPath: string;
  system: string;
  precision: string;
  mode: string;
  isl: number;
  osl: number;
  /** `batch_size`: the closed-loop concurrency. */
  concurrency: number;
  tp: number;
  pp: number;
  attentionDp: number;
  ttftMs: number;
  tpotMs: number;
}

const REQUIRED = ["id", "backend", "model_path", "system", "mode", "isl", "osl", "batch_size", "tp_size", "silicon_ttft_ms", "silicon_tpot_ms"];

/** Parses silicon_sample.csv text. */
export function parseSiliconCsv(text: string): SiliconRow[] {
  let lines: string[][];
  try {
    // A maintained parser: quoted fields may hold commas, quotes and newlines.
    lines = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (e) {
    const at = (e as { lines?: number }).lines;
    throw new InvalidArgumentError(at ? `silicon csv line ${at}` : "silicon csv", `invalid CSV: ${(e as Error).message}`);
  }
  if (lines.length === 0) throw new InvalidArgumentError("silicon csv", "empty file");
  const header = lines[0]!;
  const col = new Map(header.map((h, i) => [h.trim(), i]));
  for (const r of REQUIRED) if (!col.has(r)) throw new InvalidArgumentError("silicon csv", `column "${r}" is missing`);
  const get = (cells: string[], name: string): string => {
    const i = col.get(name);
    return i === undefined ? "" : (cells[i] ?? "").trim();
  };
  const int = (s: string, dflt: number): number => (s === "" ? dflt : Number(s));
  return lines.slice(1).map((c) => {
    return {
      id: get(c, "id"),
      source: get(c, "silicon_data_source"),
      backend: get(c, "backend"),
      backendVersion: get(c, "backend_version"),
      modelPath: get(c, "model_path"),
      system: get(c, "system"),
      precision: get(c, "precision"),
      mode: get(c, "mode"),
      isl: int(get(c, "isl"), Number.NaN),
      osl: int(get(c, "osl"), Number.NaN),
      concurrency: int(get(c, "batch_size"), Number.NaN),
      tp: int(get(c, "tp_size"), 1),
      pp: int(get(c, "pp_size"), 1),
      attentionDp: int(get(c, "attention_dp_size"), 1),
      ttftMs: Number(get(c, "silicon_ttft_ms")),
      tpotMs: Number(get(c, "silicon_tpot_ms")),
    };
  });
}

/** A row servesim can replay, with its catalog model and precisions. */
export interface ReplayableRow extends SiliconRow {
  model: string;
  weightDtype: Precision;
  kvDtype: Precision;
}

export const VALIDATION_SYSTEMS = ["h100_sxm", "h200_sxm"] as const;

/** Why a row is not replayed (coverage report), or null when it is. */
export function notReplayableReason(r: SiliconRow): string | null {
  if (r.backend !== "trtllm") return `backend ${r.backend || "(none)"}`;
  // Disaggregated rows are replayed as prefill/decode clusters by `servesim validate --disagg` (validation/disagg.ts).
  if (r.mode === "disagg") return "mode disagg (replayed by validate --disagg)";
  if (r.mode !== "agg") return `mode ${r.mode || "(none)"}`;
  if (!(VALIDATION_SYSTEMS as readonly string[]).includes(r.system)) return `system ${r.system || "(none)"}`;
  const hit = lookupModel(r.modelPath);
  if (!hit) return "model not in the catalog";
  if (hit.spec.family !== "llama") return `${hit.spec.family} architecture`;
  if (r.pp !== 1) return "pipeline parallelism";
  if (r.attentionDp > 1) return "attention DP";
  const weight = r.precision === "" ? "bf16" : parsePrecision(r.precision);
  if (weight !== "bf16" && weight !== "fp16" && weight !== "fp8") return `precision ${r.precision}`;
  if (![r.isl, r.osl, r.concurrency, r.tp].every((v) => Number.isInteger(v) && v > 0)) return "ISL, OSL, concurrency or TP not a positive integer";
  if (!(r.ttftMs > 0 && r.tpotMs > 0)) return "no positive TTFT/TPOT measurement";
  return null;
}

/**
 * Rows servesim can replay: TensorRT-LLM, aggregated serving, a dense catalog model, h100/h200, no PP or
 * attention-DP, bf16/fp16/fp8 (fp8 = FP8 weights and FP8 KV), finite positive measurements.
 */
export function selectReplayableRows(rows: readonly SiliconRow[]): ReplayableRow[] {
  const out: ReplayableRow[] = [];
  for (const r of rows) {
    if (notReplayableReason(r) !== null) continue;
    const hit = lookupModel(r.modelPath)!;
    const weight = r.precision === "" ? "bf16" : (parsePrecision(r.precision) as Precision);
    out.push({ ...r, model: hit.spec.name, weightDtype: weight, kvDtype: weight === "fp8" ? "fp8" : "bf16" });
  }
  return out;
}
