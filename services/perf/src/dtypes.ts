import { DType } from "@servesim/wire/predictor";

/** Storage/compute precision of weights or KV cache. fp16 behaves like bf16 everywhere in servesim. */
export type Precision = "bf16" | "fp16" | "fp8" | "nvfp4";

/** Bytes per element (AIC quant table, performance-model.md §5). */
export function bytesPerElement(p: Precision): number {
  switch (p) {
    case "bf16":
    case "fp16":
      return 2;
    case "fp8":
      return 1;
    case "nvfp4":
      return 0.5;
  }
}

/** Tensor-core throughput multiplier relative to bf16 (AIC `q_c`). */
export function computeMultiplier(p: Precision): number {
  switch (p) {
    case "bf16":
    case "fp16":
      return 1;
    case "fp8":
      return 2;
    case "nvfp4":
      return 4;
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
  }
}

/** Parses user spellings (bf16, bfloat16, fp16, float16, half, fp8, nvfp4, fp4). */
export function parsePrecision(s: string): Precision | undefined {
  switch (s.trim().toLowerCase()) {
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
    case "nvfp4":
    case "fp4":
      return "nvfp4";
    default:
      return undefined;
  }
}
