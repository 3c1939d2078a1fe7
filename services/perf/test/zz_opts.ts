import { AIC_EMPIRICAL_EFFICIENCY, type Efficiency } from "../src/efficiency.js";
export type P = Record<string, number>;
export function toOptions(p: P) {
  const e = structuredClone(AIC_EMPIRICAL_EFFICIENCY) as Efficiency;
  e.gemm = { compute: p.gemmC ?? 0.8, memory: p.gemmM ?? 0.8, floorUs: p.gemmF ?? 0, launchUs: p.gemmL ?? 0 };
  e.fp8ComputeScale = p.fp8 ?? 1;
  e.contextAttention = { compute: p.ctxC ?? 0.6, memory: 0.6, floorUs: p.ctxF ?? 0, launchUs: p.ctxL ?? 0 };
  e.generationAttention = { compute: 0.8, memory: p.genM ?? 0.8, floorUs: p.genF ?? 0, launchUs: p.genL ?? 0 };
  e.allReduce = { compute: 1, memory: p.arM ?? 0.8, floorUs: p.arF ?? 0, launchUs: p.arL ?? 0 };
  e.memoryOp = { compute: 1, memory: 0.8, floorUs: p.memF ?? 0, launchUs: p.memL ?? 3 };
  return { efficiency: e, overheads: { stepUs: p.step ?? 0, perRequestUs: p.req ?? 0, perLayerUs: p.layer ?? 0 } };
}
