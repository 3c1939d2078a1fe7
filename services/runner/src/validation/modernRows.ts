import { lookupModel, MODEL_CATALOG, type Precision } from "@servesim/perf";
import { DType, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { parse } from "csv-parse/sync";
import type { SiliconRow } from "./silicon.js";

/** The columns of a silicon row that say how MoE models and attention DP ran (not in SiliconRow). */
export interface ParallelColumns {
  moeTp: number;
  moeEp: number;
  /** gemm_quant_mode: the GEMM weights' format (fp8, fp8_block, nvfp4; "" = the precision column's). */
  gemmQuant: string;
  /** silicon_concurrency from silicon_data_source, when the source names it. */
  siliconConcurrency: number | null;
}

/** Reads the parallelism and quantization columns of every row, by row id. */
export function parallelColumns(csvText: string): Map<string, ParallelColumns> {
  const lines = parse(csvText, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const out = new Map<string, ParallelColumns>();
  if (lines.length === 0) return out;
  const col = new Map(lines[0]!.map((h, i) => [h.trim(), i]));
  const get = (c: string[], k: string): string => (col.has(k) ? (c[col.get(k)!] ?? "").trim() : "");
  const num = (s: string): number => (s === "" ? 0 : Number(s));
  for (const c of lines.slice(1)) {
    const m = /silicon_concurrency=(\d+)/.exec(get(c, "silicon_data_source"));
    out.set(get(c, "id"), {
      moeTp: num(get(c, "moe_tp_size")),
      moeEp: num(get(c, "moe_ep_size")),
      gemmQuant: get(c, "gemm_quant_mode").toLowerCase(),
      siliconConcurrency: m ? Number(m[1]) : null,
    });
  }
  return out;
}

/** How servesim replays a TensorRT-LLM aggregated silicon row. */
export interface RowSetup {
  /** Catalog model name. */
  model: string;
  weight: Precision;
  tp: number;
  ep: number;
  moeTp: number;
  attentionDp: boolean;
  /** Closed-loop concurrency over all ranks. */
  concurrency: number;
}

const QUANT: Record<string, Precision> = { fp8: "fp8", fp8_block: "fp8_block", nvfp4: "nvfp4", fp4: "nvfp4", mxfp4: "mxfp4" };

/**
 * Maps a silicon row to a replay setup, or says why it cannot be replayed. Attention-DP rows give the
 * per-rank batch in batch_size: the closed loop is silicon_concurrency (batch_size × DP ranks when the
 * source does not name it); servesim's TP is the DP ranks × the attention TP (which must be 1). Weights:
 * gemm_quant_mode when given, else the precision column ("fp4" is the checkpoint's 4-bit format: MXFP4 for
 * gpt-oss, NVFP4 otherwise; "fp8" of a block-scaled FP8 checkpoint is fp8_block); quantized rows run an FP8
 * KV cache.
 */
export function rowSetup(r: SiliconRow, cols: ParallelColumns | undefined): RowSetup | { reason: string } {
  if (r.backend !== "trtllm") return { reason: `backend ${r.backend || "(none)"}` };
  if (r.mode !== "agg") return { reason: `mode ${r.mode || "(none)"}` };
  const hit = lookupModel(r.modelPath);
  if (!hit) return { reason: `model ${r.modelPath} not in the catalog` };
  if (r.pp !== 1) return { reason: "pipeline parallelism" };
  if (![r.isl, r.osl, r.concurrency, r.tp].every((v) => Number.isInteger(v) && v > 0)) return { reason: "ISL, OSL, batch_size or TP not a positive integer" };
  if (!(r.ttftMs > 0 && r.tpotMs > 0)) return { reason: "no positive TTFT/TPOT measurement" };
  const dp = Number.isInteger(r.attentionDp) && r.attentionDp > 1 ? r.attentionDp : 1;
  if (dp > 1 && r.tp > 1) return { reason: `attention TP ${r.tp} within attention-DP ranks (servesim's ranks run attention TP 1)` };
  const tp = dp > 1 ? dp : r.tp;
  const moe = hit.spec.family === "moe";
  let ep = 1;
  let moeTp = tp;
  if (moe) {
    const cEp = cols?.moeEp ?? 0;
    const cTp = cols?.moeTp ?? 0;
    ep = cEp > 0 ? cEp : cTp > 0 ? Math.max(1, tp / cTp) : 1;
    moeTp = cTp > 0 ? cTp : tp / ep;
    if (!Number.isInteger(ep) || !Number.isInteger(moeTp) || ep * moeTp !== tp) return { reason: `MoE TP ${cTp} × EP ${cEp} does not make TP ${tp}` };
  }
  let weight: Precision;
  const q = cols?.gemmQuant ?? "";
  if (r.precision === "" && q === "") weight = "bf16";
  else if (q !== "" && QUANT[q]) weight = QUANT[q]!;
  else if (r.precision === "fp4") weight = hit.weight === "mxfp4" ? "mxfp4" : "nvfp4";
  else if (QUANT[r.precision]) weight = QUANT[r.precision]!;
  else return { reason: `precision ${r.precision}` };
  if (r.precision === "fp4" && hit.weight === "mxfp4") weight = "mxfp4";
  // "fp8" names the checkpoint's FP8 weights; a model whose FP8 checkpoint is block-scaled (DeepSeek-R1/V3,
  // Qwen3-235B-A22B-FP8: 128 × 128 weight scales) runs TensorRT-LLM's FP8 block-scale GEMMs and MoE.
  if (weight === "fp8" && hit.weight === "fp8_block") weight = "fp8_block";
  const concurrency = dp > 1 ? (cols?.siliconConcurrency ?? r.concurrency * dp) : r.concurrency;
  return {
    model: weight === "nvfp4" && hit.weight !== "nvfp4" ? (nvfp4Checkpoint(hit.spec.name) ?? hit.spec.name) : hit.spec.name,
    weight,
    tp,
    ep,
    moeTp,
    attentionDp: dp > 1,
    concurrency,
  };
}

/**
 * NVIDIA's NVFP4 checkpoint of a model, when the catalog lists one. An "fp4" row of a base model id
 * (deepseek-ai/DeepSeek-R1 at fp4) was served from NVIDIA's NVFP4 checkpoint, the only FP4 weights of it
 * (TensorRT-LLM's and InferenceX's DeepSeek FP4 recipes load nvidia/DeepSeek-R1-0528-FP4): it keeps
 * attention in bf16 and quantizes the MoE and MLP GEMMs, so the row runs that checkpoint's precisions
 * rather than NVFP4 everywhere. The first NVFP4 checkpoint with an FP8 KV cache wins, as the rows ran one.
 */
function nvfp4Checkpoint(specName: string): string | undefined {
  const entry = MODEL_CATALOG.find((e) => e.spec.name === specName);
  const q = entry?.quantizedAliases.filter((a) => a.weight === "nvfp4");
  return (q?.find((a) => a.kv === "fp8") ?? q?.[0])?.id;
}

const DTYPE: Record<Precision, DType> = {
  bf16: DType.D_TYPE_BF16,
  fp16: DType.D_TYPE_FP16,
  fp8: DType.D_TYPE_FP8,
  fp8_block: DType.D_TYPE_FP8_BLOCK,
  nvfp4: DType.D_TYPE_NVFP4,
  mxfp4: DType.D_TYPE_MXFP4,
  int4: DType.D_TYPE_INT4,
};

/** The predictor configuration of a row (aic: the row's TensorRT-LLM version, else the nearest tables). */
export function rowPredictorConfig(r: SiliconRow, s: RowSetup, predictor: "roofline" | "aic", systemsDir: string): PredictorConfig {
  const version = /^\d+\.\d+\.\d+/.exec(r.backendVersion)?.[0] ? r.backendVersion : "";
  return {
    kind: predictor === "aic" ? PredictorKind.PREDICTOR_KIND_AIC : PredictorKind.PREDICTOR_KIND_ROOFLINE,
    deviceName: r.system,
    databasePath: predictor === "aic" ? systemsDir : "",
    backendVersion: predictor === "aic" ? version : "",
    model: { name: s.model },
    parallelism: { tp: s.tp, pp: 1, ep: s.ep, ...(s.ep > 1 || s.moeTp !== s.tp ? { moeTp: s.moeTp } : {}), attentionDp: s.attentionDp },
    weightDtype: DTYPE[s.weight],
    // Quantized rows ran with an FP8 KV cache (the measurement convention: "fp8" / "fp4" rows quantize the KV too).
    kvCacheDtype: s.weight === "bf16" || s.weight === "fp16" ? DType.D_TYPE_UNSPECIFIED : DType.D_TYPE_FP8,
    ctxAttention: "",
    ...(predictor === "aic" ? { nearestTableVersion: true } : {}),
  };
}
