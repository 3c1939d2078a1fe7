import type { GemmOp, MoeCommOp, OpPlan } from "./plan.js";

/** The rank-local and MoE parts of one forward's token-count ops, priced at x (rank) and X (MoE) tokens. */
export type TokenPart = "all" | "rank" | "moe";

/** What a kernel model charges for each kind of token-count op of a plan. */
export interface TokenOpCosts {
  /** GEMM i of the plan at m tokens; NaN when the model prices it elsewhere (with its module), so it and its quantize are skipped. */
  planGemmMs(i: number, g: GemmOp, m: number): number;
  quantizeMs(g: GemmOp, x: number): number;
  memoryOpMs(bytes: number): number;
  moeMs(X: number): number;
  moeCommMs(c: MoeCommOp, X: number, xMax: number): number;
  allReduceMs(elements: number): number;
  p2pMs(bytes: number): number;
}

/**
 * The time of a plan's token-count ops: GEMMs with their input quantization, memory-bound ops, MoE experts and
 * their dispatch/combine, all-reduces and pipeline sends. `part` picks the rank-local ops, the MoE ops or both,
 * so attention-DP ranks can price their own tokens (x) and the experts every rank's tokens (X, busiest xMax).
 */
export function tokenOpsMs(plan: OpPlan, costs: TokenOpCosts, x: number, part: TokenPart, X: number, xMax: number): number {
  let t = 0;
  if (part !== "moe") {
    for (let i = 0; i < plan.gemms.length; i++) {
      const g = plan.gemms[i]!;
      const ms = costs.planGemmMs(i, g, x);
      if (Number.isNaN(ms)) continue;
      t += g.scale * ms;
      if (g.quantizeInput) t += g.scale * costs.quantizeMs(g, x);
    }
    for (let i = 0; i < plan.memoryOps.length; i++) {
      const o = plan.memoryOps[i]!;
      t += o.scale * costs.memoryOpMs(x * o.bytesPerToken);
    }
  }
  if (part !== "rank") {
    if (plan.moe) t += plan.moe.scale * costs.moeMs(X);
    if (plan.moeComm) t += plan.moeComm.scale * costs.moeCommMs(plan.moeComm, X, xMax);
  }
  if (part !== "moe") {
    if (plan.allReduceCalls > 0) t += plan.allReduceCalls * costs.allReduceMs(x * plan.allReduceElementsPerToken);
    if (plan.p2pCalls > 0) t += plan.p2pCalls * costs.p2pMs(x * plan.p2pBytesPerToken);
  }
  return t;
}
