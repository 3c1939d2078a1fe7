import { DType } from "@servesim/wire/predictor";

/**
 * Storage/compute precision of weights or KV cache. fp16 behaves like bf16 everywhere in servesim.
 * - fp8: per-tensor FP8 (modelopt FP8); fp8_block: 128×128 weight blocks, 1×128 activation groups
 *   (DeepSeek FP8 checkpoints, Qwen3 FP8);
 * - nvfp4: 4-bit weights and activations with FP8 scales per 16 values (Blackwell tensor cores);
 * - mxfp4: 4-bit weights with an 8-bit scale per 32 values, 16-bit activations (gpt-oss experts);
 * - int4: 4-bit integer weights with a 16-bit scale per group of 32, 16-bit activations (weight-only).
 */
export type Precision = "bf16" | "fp16" | "fp8" | "fp8_block" | "nvfp4" | "mxfp4" | "int4";

export const PRECISIONS: readonly Precision[] = ["bf16", "fp16", "fp8", "fp8_block", "nvfp4", "mxfp4", "int4"];

/** Bytes per element (AIC's quant table, aiconfigurator/sdk/common.py); block scales are not counted. */
export function bytesPerElement(p: Precision): number {
  switch (p) {
    case "bf16":
    case "fp16":
      return 2;
    case "fp8":
    case "fp8_block":
      return 1;
    case "nvfp4":
    case "mxfp4":
    case "int4":
      return 0.5;
  }
}

/**
 * Bytes per weight element including the scales (weight memory, and the weight traffic of 4-bit
 * formats): nvfp4 one FP8 scale per 16 (9/16 B), mxfp4 one 8-bit scale per 32 (17/32 B), int4 one
 * 16-bit scale per 32 (9/16 B). The formats with negligible scales count as bytesPerElement.
 */
export function weightBytesPerElement(p: Precision): number {
  switch (p) {
    case "nvfp4":
    case "int4":
      return 9 / 16;
    case "mxfp4":
      return 17 / 32;
    default:
      return bytesPerElement(p);
  }
}

/** Tensor-core throughput multiplier relative to bf16 (AIC `q_c`): what the math runs at. */
export function computeMultiplier(p: Precision): number {
  switch (p) {
    case "bf16":
    case "fp16":
    case "mxfp4":
    case "int4":
      return 1;
    case "fp8":
    case "fp8_block":
      return 2;
    case "nvfp4":
      return 4;
  }
}

/** The tensor-core rate the math of a weight precision needs (weight-only formats run at bf16). */
export function computePrecision(p: Precision): "bf16" | "fp8" | "nvfp4" {
  switch (p) {
    case "fp8":
    case "fp8_block":
      return "fp8";
    case "nvfp4":
      return "nvfp4";
    default:
      return "bf16";
  }
}

export function precisionFromDType(d: DType): Precision | undefined {
  switch (d) {
    case DType.D_TYPE_BF16:
      return "bf16";
    case DType.D_TYPE_FP16:
      return "fp16";
    case DType.D_TYPE_FP8:
      return "fp8";
    case DType.D_TYPE_NVFP4:
      return "nvfp4";
    case DType.D_TYPE_FP8_BLOCK:
      return "fp8_block";
    case DType.D_TYPE_MXFP4:
      return "mxfp4";
    case DType.D_TYPE_INT4:
      return "int4";
    default:
      return undefined;
  }
}

export function dtypeFromPrecision(p: Precision): DType {
  switch (p) {
    case "bf16":
      return DType.D_TYPE_BF16;
    case "fp16":
      return DType.D_TYPE_FP16;
    case "fp8":
      return DType.D_TYPE_FP8;
    case "nvfp4":
      return DType.D_TYPE_NVFP4;
    case "fp8_block":
      return DType.D_TYPE_FP8_BLOCK;
    case "mxfp4":
      return DType.D_TYPE_MXFP4;
    case "int4":
      return DType.D_TYPE_INT4;
  }
}

/**
 * Parses user spellings (bf16, bfloat16, fp16, float16, half, fp8, nvfp4, fp4, fp8_block, mxfp4,
 * int4, w4a16).
 */
export function parsePrecision(s: string): Precision | undefined {
  switch (s.trim().toLowerCase().replace(/-/g, "_")) {
    case "bf16":
    case "bfloat16":
      return "bf16";
    case "fp16":
    case "float16":
    case "half":
      return "fp16";
    case "fp8":
    case "float8":
    case "fp8_e4m3":
      return "fp8";
    case "fp8_block":
    case "fp8_block_scales":
    case "fp8_blockwise":
      return "fp8_block";
    case "nvfp4":
    case "fp4":
      return "nvfp4";
    case "mxfp4":
    case "w4a16_mxfp4":
      return "mxfp4";
    case "int4":
    case "w4a16":
    case "int4_wo":
    case "w4a16_awq":
      return "int4";
    default:
      return undefined;
  }
}

/** A wire DType's short name (bf16, fp8_block, ...; "auto" for unspecified). */
export function dtypeName(d: DType): string {
  return precisionFromDType(d) ?? "auto";
}
