import type { GpuSpec } from "./catalog/gpus.js";
import type { GemmKernelClass } from "./gemmKernelClass.js";

/**
 * Fraction of peak FLOP/s and of peak bandwidth an op kind reaches, a minimum kernel time (`floorUs`:
 * small kernels never finish faster) and a fixed latency added to every call (`launchUs`).
 */
export interface OpEfficiency {
  compute: number;
  memory: number;
  floorUs: number;
  launchUs: number;
}

/** Efficiency factors of the roofline predictor, per op kind. */
export interface Efficiency {
  /** GEMMs (the `plain` kernel class, and every class without an entry in gemmKernels). */
  gemm: OpEfficiency;
  /** GEMMs whose kernel class has factors of its own (gemmKernelClass.ts: low-precision and min-latency kernels). */
  gemmKernels?: Partial<Record<Exclude<GemmKernelClass, "plain">, OpEfficiency>>;
  /**
   * Multiplier on GEMM/MoE compute efficiency at FP8: FP8 GEMMs realize 1.3–1.7× the bf16 rate, not
   * the nominal 2× (AIC H100 tables at m = 4096: 0.67–0.84 of 2×; 0.75 used).
   */
  fp8ComputeScale: number;
  contextAttention: OpEfficiency;
  generationAttention: OpEfficiency;
  moe: OpEfficiency;
  /** Norms, activation, embedding. */
  memoryOp: OpEfficiency;
  /** `memory` applies to the link bandwidth. */
  allReduce: OpEfficiency;
  p2p: OpEfficiency;
  /** MoE dispatch/combine under attention DP (link bandwidth); default: the all-reduce's, plus a 5 µs launch. */
  moeComm?: OpEfficiency;
}

/**
 * AIConfigurator's v0.7 EMPIRICAL mode (aiconfigurator/sdk/operations/util_empirical.py): SOL ÷ factor, memory ops at 0.8·BW + 3 µs,
 * P2P + 10 µs. Used for GPUs without a calibrated family entry.
 */
export const AIC_EMPIRICAL_EFFICIENCY: Efficiency = {
  gemm: { compute: 0.8, memory: 0.8, floorUs: 0, launchUs: 0 },
  fp8ComputeScale: 1,
  contextAttention: { compute: 0.6, memory: 0.6, floorUs: 0, launchUs: 0 },
  generationAttention: { compute: 0.8, memory: 0.8, floorUs: 0, launchUs: 0 },
  moe: { compute: 0.4, memory: 0.4, floorUs: 0, launchUs: 0 },
  memoryOp: { compute: 1, memory: 0.8, floorUs: 0, launchUs: 3 },
  allReduce: { compute: 1, memory: 0.8, floorUs: 0, launchUs: 0 },
  p2p: { compute: 1, memory: 1, floorUs: 0, launchUs: 10 },
};

export type GpuFamily = "hopper" | "ampere" | "ada" | "blackwell" | "other";

export function gpuFamily(gpu: GpuSpec): GpuFamily {
  const sm = gpu.smVersion;
  const name = gpu.name.toLowerCase();
  if (sm === 90 || /^(h100|h200|h20|gh200)/.test(name)) return "hopper";
  if (sm === 80 || /^a100/.test(name)) return "ampere";
  if (sm === 89 || /^(l40|l4)/.test(name)) return "ada";
  if (sm >= 100 || /^(b200|b300|gb200|gb300)/.test(name)) return "blackwell";
  return "other";
}

/**
 * Hopper's fused MoE (TensorRT-LLM's CUTLASS grouped GEMMs with permute, activation and finalize,
 * tensorrt_llm/_torch/modules/fused_moe/fused_moe_cutlass.py) streams the active experts' weights at
 * ~85 % of HBM bandwidth and costs ~40 µs per layer beyond that (the routing, permute and finalize
 * kernels), not AIC's empirical 0.4/0.4: fitted to AIC's H100 and H200 MoE tables (1.2.0rc5, 43,254
 * points of 11 expert shapes, bf16/fp8/fp8_block, balanced and power-law routing; the roofline priced
 * with the table's own routing): MAPE 62.5 % with 0.4/0.4 → 22.4 % in-sample, 23.6 % leave-one-shape-out
 * (docs/timing.md#hopper-moe-efficiency).
 */
const HOPPER_MOE_EFFICIENCY: OpEfficiency = { compute: 0.5, memory: 0.85, floorUs: 0, launchUs: 40 };

/**
 * Per-family efficiency factors, calibrated once against silicon_sample.csv (429 TensorRT-LLM agg rows:
 * Llama-3.1-8B bf16 and Qwen3-32B fp8 on H100, Llama-3.1-70B fp8 on H200; docs/performance-models.md).
 * Families without silicon data use AIC's empirical factors.
 */
const FAMILY_EFFICIENCY: Partial<Record<GpuFamily, Efficiency>> = {
  hopper: {
    gemm: { compute: 0.6, memory: 0.85, floorUs: 15, launchUs: 6 },
    fp8ComputeScale: 0.75,
    contextAttention: { compute: 0.6, memory: 0.6, floorUs: 0, launchUs: 0 },
    generationAttention: { compute: 0.8, memory: 1, floorUs: 0, launchUs: 0 },
    moe: HOPPER_MOE_EFFICIENCY,
    memoryOp: { compute: 1, memory: 0.8, floorUs: 0, launchUs: 3 },
    allReduce: { compute: 1, memory: 0.8, floorUs: 0, launchUs: 0 },
    p2p: { compute: 1, memory: 1, floorUs: 0, launchUs: 10 },
  },
  /**
   * Blackwell (B200, GB200, B300, GB300): AIC's empirical factors with a GEMM bandwidth fraction, floor
   * and launch fitted on the 556 roofline-replayable TensorRT-LLM rows of Blackwell systems (DeepSeek,
   * gpt-oss, Llama-3.1-70B, Qwen3-32B; TPOT loss, 6 candidates): TPOT MAPE 39.5 % with AIC's factors →
   * 28.9 % in-sample, 28.9 % 5-fold, 32.3 % leave-one-model-out (docs/timing.md#blackwell-efficiency).
   * Small decode GEMMs reach ~60 % of HBM bandwidth and cost at least a kernel's ~8 µs plus a launch;
   * DeepSeek-V3's min-latency fused-A and router kernels 2 + 2 µs (per kernel class, 557 rows with MTP
   * rows replayed with MTP: 21.7 → 21.4 % in-sample and 5-fold, 23.1 % leave-one-model-out;
   * docs/timing.md#gemm-floors-by-kernel-class).
   */
  blackwell: {
    ...AIC_EMPIRICAL_EFFICIENCY,
    gemm: { compute: 0.8, memory: 0.6, floorUs: 8, launchUs: 4 },
    gemmKernels: { minLatency: { compute: 0.8, memory: 0.6, floorUs: 2, launchUs: 2 } },
  },
};

/** Efficiency factors for a GPU: its family's calibrated set, else AIC's empirical factors. */
export function defaultEfficiency(gpu: GpuSpec): Efficiency {
  return FAMILY_EFFICIENCY[gpuFamily(gpu)] ?? AIC_EMPIRICAL_EFFICIENCY;
}

/** The factors of a GEMM of the given kernel class (the class's own, else the GEMM factors). */
export function gemmEfficiency(e: Efficiency, kind: GemmKernelClass): OpEfficiency {
  return kind === "plain" ? e.gemm : (e.gemmKernels?.[kind] ?? e.gemm);
}

/** Host/framework overheads not in any kernel table (AIConfigurator's empirical knobs, aiconfigurator/sdk/operations/util_empirical.py), microseconds. */
export interface Overheads {
  stepUs: number;
  perRequestUs: number;
  perLayerUs: number;
}

export const ZERO_OVERHEADS: Overheads = { stepUs: 0, perRequestUs: 0, perLayerUs: 0 };

/**
 * Per-family, per-predictor device overheads: device work per scheduled sequence that no kernel table
 * holds (sampling and logits post-processing per sequence, per-sequence setup of the attention kernels).
 * Fitted on silicon_sample.csv's TensorRT-LLM rows together with the engine's host costs
 * (`servesim validate --fit`: 24 candidates, in-sample pick; 5-fold and leave-one-model-out errors in
 * docs/timing.md). Host work is not here: the engine profile adds it (the predictor prices device time).
 * Zero elsewhere, so AIC's kernel sum is the default.
 */
const FAMILY_OVERHEADS: Partial<Record<GpuFamily, { roofline: Overheads; aic: Overheads }>> = {
  hopper: {
    roofline: { stepUs: 0, perRequestUs: 30, perLayerUs: 0 },
    aic: { stepUs: 0, perRequestUs: 30, perLayerUs: 0 },
  },
};

/** Default overheads of a predictor kind on a GPU (zero unless calibrated for its family). */
export function defaultOverheads(gpu: GpuSpec, kind: "roofline" | "aic"): Overheads {
  return FAMILY_OVERHEADS[gpuFamily(gpu)]?.[kind] ?? ZERO_OVERHEADS;
}
