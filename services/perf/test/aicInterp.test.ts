import { makeBatch, type OpTime } from "@servesim/core";
import { config } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { AllReduceTable } from "../src/aic/allReduceTable.js";
import { AttentionTable } from "../src/aic/attentionTable.js";
import { AicDatabase } from "../src/aic/database.js";
import { GemmTable } from "../src/aic/gemmTable.js";
import { MoeTable } from "../src/aic/moeTable.js";
import type { AttentionRow, GemmRow } from "../src/aic/rows.js";
import { lookupGpu } from "../src/catalog/gpus.js";
import { AIC_EMPIRICAL_EFFICIENCY, ZERO_OVERHEADS } from "../src/efficiency.js";
import { aicPredictorWith } from "../src/factory.js";
import { SourceTracker } from "../src/opSource.js";
import { buildPlan } from "../src/plan.js";
import { resolveRun } from "../src/resolve.js";
import { RooflineKernels } from "../src/roofline.js";
import { allReduceSolMs, ctxAttnSolMs, gemmSolMs, genAttnSolMs, moeSolMs } from "../src/sol.js";

const gpu = lookupGpu("h100_sxm")!;
const tracker = () => new SourceTracker();

describe("GEMM interpolation in utilization space", () => {
  // Generated table: util = 0.3 at m = 1, 0.6 at m = 64, 0.9 at m = 1024; (n = 4096) pairs 10 % better.
  const utilOf = (m: number, n: number) => ({ 1: 0.3, 64: 0.6, 1024: 0.9 })[m]! * (n === 4096 ? 1.1 : 1);
  const rows: GemmRow[] = [];
  for (const m of [0, 1, 64, 1024])
    for (const n of [1024, 4096])
      for (const k of [1024, 4096]) {
        rows.push({ dtype: "bfloat16", m, n, k, latency: m === 0 ? 0.001 : gemmSolMs(gpu, m, n, k, "bf16") / utilOf(m, n) });
      }
  const table = new GemmTable(rows);

  it("returns grid points exactly", () => {
    const t = tracker();
    const lat = table.query("bfloat16", gpu, "bf16", 64, 1024, 4096, t);
    expect(lat).toBe(rows.find((r) => r.m === 64 && r.n === 1024 && r.k === 4096)!.latency);
    expect(t.source).toBe("table");
  });

  it("is linear in m and in log2 n / log2 k on utilization", () => {
    const t = tracker();
    const w = (32 - 1) / (64 - 1);
    const util = (1 - w) * 0.3 + w * 0.6;
    expect(table.query("bfloat16", gpu, "bf16", 32, 1024, 1024, t)).toBeCloseTo(gemmSolMs(gpu, 32, 1024, 1024, "bf16") / util, 12);
    expect(t.source).toBe("interp");
    // n = 2048 is halfway in log2 between 1024 and 4096.
    const utilN = 0.5 * 0.6 + 0.5 * 0.66;
    expect(table.query("bfloat16", gpu, "bf16", 64, 2048, 1024, tracker())).toBeCloseTo(gemmSolMs(gpu, 64, 2048, 1024, "bf16") / utilN, 12);
  });

  it("holds the boundary utilization outside the grid (m and n)", () => {
    const t = tracker();
    expect(table.query("bfloat16", gpu, "bf16", 8192, 1024, 1024, t)).toBeCloseTo(gemmSolMs(gpu, 8192, 1024, 1024, "bf16") / 0.9, 12);
    expect(t.source).toBe("util-extrapolated");
    expect(table.query("bfloat16", gpu, "bf16", 64, 14336, 4096, tracker())).toBeCloseTo(gemmSolMs(gpu, 64, 14336, 4096, "bf16") / 0.66, 12);
  });

  it("never returns less than SOL and ignores m = 0 rows", () => {
    const fast = new GemmTable([
      { dtype: "bfloat16", m: 1, n: 1024, k: 1024, latency: gemmSolMs(gpu, 1, 1024, 1024, "bf16") / 2 },
      { dtype: "bfloat16", m: 0, n: 1024, k: 1024, latency: 1e-9 },
    ]);
    expect(fast.query("bfloat16", gpu, "bf16", 1, 1024, 1024, tracker())).toBe(gemmSolMs(gpu, 1, 1024, 1024, "bf16"));
    expect(fast.query("bfloat16", gpu, "bf16", 2, 1024, 1024, tracker())).toBe(gemmSolMs(gpu, 2, 1024, 1024, "bf16"));
    expect(table.query("fp8", gpu, "fp8", 1, 1024, 1024, tracker())).toBeUndefined();
  });
});

describe("attention interpolation", () => {
  const ctxRow = (batch: number, isl: number, heads: number, latency: number): AttentionRow => ({
    batch,
    isl,
    step: 0,
    heads,
    kvHeads: 8,
    headDim: 128,
    window: 0,
    attnDtype: "bfloat16",
    kvDtype: "bfloat16",
    latency,
  });
  // b = 2 only measured up to 1024 (a ragged corner like the real tables).
  const rows = [
    ctxRow(1, 16, 32, 0.01),
    ctxRow(1, 1024, 32, 0.04),
    ctxRow(1, 2048, 32, 0.12),
    ctxRow(2, 16, 32, 0.012),
    ctxRow(2, 1024, 32, 0.07),
    ctxRow(1, 16, 16, 0.008),
    ctxRow(1, 1024, 16, 0.03),
    ctxRow(1, 2048, 16, 0.08),
    ctxRow(2, 16, 16, 0.01),
    ctxRow(2, 1024, 16, 0.05),
  ];
  const sol = (b: number, s: number, h: number) => ctxAttnSolMs(gpu, b, s, 0, h, 8, 128, "bf16", "bf16");
  const view = new AttentionTable(rows, "context").view("bfloat16", "bfloat16", 0, 128, 32, 8, sol)!;

  it("√latency is linear along isl", () => {
    const t = tracker();
    const expected = (0.5 * Math.sqrt(0.04) + 0.5 * Math.sqrt(0.12)) ** 2;
    expect(view.query(1, 1536, 32, t)).toBeCloseTo(expected, 12);
    expect(t.source).toBe("interp");
    expect(view.query(1, 1024, 32, tracker())).toBe(0.04);
  });

  it("latency is linear along batch and heads", () => {
    // b = 1.5 is not a real batch but checks the linear weight; heads 24 lie between 16 and 32.
    expect(view.query(1.5, 1024, 32, tracker())).toBeCloseTo(0.055, 12);
    expect(view.query(1, 1024, 24, tracker())).toBeCloseTo(0.035, 12);
  });

  it("a ragged corner borrows the utilization of a smaller batch that measured the length", () => {
    const t = tracker();
    const util = sol(1, 2048, 32) / 0.12;
    expect(view.query(2, 2048, 32, t)).toBeCloseTo(sol(2, 2048, 32) / util, 12);
    expect(t.source).toBe("util-extrapolated");
  });

  it("beyond the measured length and batch, utilization is held", () => {
    expect(view.query(1, 8192, 32, tracker())).toBeCloseTo(sol(1, 8192, 32) / (sol(1, 2048, 32) / 0.12), 12);
    expect(view.query(8, 1024, 32, tracker())).toBeCloseTo(sol(8, 1024, 32) / (sol(2, 1024, 32) / 0.07), 12);
    expect(view.query(1, 1024, 64, tracker())).toBeCloseTo(sol(1, 1024, 64) / (sol(1, 1024, 32) / 0.04), 12);
  });

  it("missing families give no view (the predictor falls back to roofline)", () => {
    const table = new AttentionTable(rows, "context");
    expect(table.view("fp8", "fp8", 0, 128, 32, 8, sol)).toBeUndefined();
    expect(table.view("bfloat16", "bfloat16", 0, 128, 32, 4, sol)).toBeUndefined();
    // MHA (kv == heads) is its own family.
    expect(table.view("bfloat16", "bfloat16", 0, 128, 8, 8, sol)).toBeUndefined();
  });

  it("generation attention: KV length = isl + step, linear along it", () => {
    const gen = (batch: number, step: number, latency: number): AttentionRow => ({ ...ctxRow(batch, 1, 32, latency), step });
    const gsol = (b: number, s: number, h: number) => genAttnSolMs(gpu, b, s, h, 8, 128, "bf16");
    const g = new AttentionTable([gen(8, 1023, 0.03), gen(8, 2047, 0.05)], "generation").view("bfloat16", "bfloat16", 0, 128, 32, 8, gsol)!;
    expect(g.query(8, 1024, 32, tracker())).toBe(0.03);
    expect(g.query(8, 1536, 32, tracker())).toBeCloseTo(0.04, 12);
    expect(g.query(8, 4096, 32, tracker())).toBeCloseTo(Math.max(gsol(8, 4096, 32), gsol(8, 4096, 32) / (gsol(8, 2048, 32) / 0.05)), 12);
  });
});

describe("all-reduce smoothing and extrapolation", () => {
  const rows = [
    [1024, 3.0],
    [2048, 3.1],
    [4096, 3.3],
    [8192, 9.9],
    [16384, 3.4],
    [32768, 3.8],
    [65536, 5.0],
    [131072, 8.0],
  ].flatMap(([size, us]) => [{ numGpus: 2, messageSize: size!, latency: us! / 1000 }]);
  // Two runs of one key are averaged.
  rows.push({ numGpus: 2, messageSize: 1024, latency: 0.0032 });
  const table = new AllReduceTable(rows);
  const q = (size: number, gpus = 2) => table.query(gpu, gpus, size, tracker())!;

  it("keeps regular points, replaces outliers by the running median, never decreases", () => {
    expect(q(1024)).toBeCloseTo(0.0031, 12);
    expect(q(4096)).toBe(0.0033);
    expect(q(8192)).toBeCloseTo(0.0034, 12); // 9.9 µs outlier → median 3.4 µs
    expect(q(16384)).toBeCloseTo(0.0034, 12);
    expect(q(32768)).toBe(0.0038);
  });

  it("interpolates in log2(size), extrapolates upward with a non-negative slope and holds downward", () => {
    expect(q(2 ** 11.5)).toBeCloseTo((0.0031 + 0.0033) / 2, 12);
    expect(q(262144)).toBeCloseTo(0.008 + ((0.008 - 0.005) / 65536) * 131072, 12);
    expect(q(128)).toBeCloseTo(0.0031, 12);
  });

  it("other GPU counts borrow the nearest measured count's utilization", () => {
    const t = tracker();
    expect(table.query(gpu, 4, 4096, t)).toBeCloseTo(allReduceSolMs(gpu, 4096, 4) / (allReduceSolMs(gpu, 4096, 2) / 0.0033), 12);
    expect(t.source).toBe("util-extrapolated");
  });
});

describe("MoE", () => {
  const key = { dtype: "bfloat16", hidden: 4096, inter: 14336, topK: 2, experts: 8, moeTp: 1, moeEp: 1, distribution: "balanced" };
  const sol = (x: number) => moeSolMs(gpu, x, 4096, 14336, 2, 8, 1, 1, "bf16");
  const table = new MoeTable([1, 16, 64].map((numTokens, i) => ({ ...key, numTokens, latency: [0.3, 1.0, 1.2][i]! })));
  const q = table.view(key, sol)!;
  it("linear in num_tokens, utilization held outside", () => {
    expect(q(16, tracker())).toBe(1.0);
    expect(q(40, tracker())).toBeCloseTo(1.1, 12);
    expect(q(256, tracker())).toBeCloseTo(Math.max(sol(256), sol(256) / (sol(64) / 1.2)), 12);
    expect(table.view({ ...key, moeTp: 2 }, sol)).toBeUndefined();
  });
});

describe("AIC predictor over in-memory tables", () => {
  const cfg = config({ kind: PredictorKind.PREDICTOR_KIND_AIC, model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", backendVersion: "test" });
  const run = resolveRun(cfg);
  const roof = new RooflineKernels(buildPlan(run), AIC_EMPIRICAL_EFFICIENCY);
  const gemmRows: GemmRow[] = [];
  for (const m of [1, 8192])
    for (const [n, k] of [
      [6144, 4096],
      [4096, 4096],
    ] as const) {
      gemmRows.push({ dtype: "bfloat16", m, n, k, latency: 2 * gemmSolMs(gpu, m, n, k, "bf16") });
    }
  const db = AicDatabase.fromRows({ gemm: gemmRows });
  const p = aicPredictorWith(cfg, db, { efficiency: AIC_EMPIRICAL_EFFICIENCY, overheads: ZERO_OVERHEADS });

  it("marks every op's source; ops without a table fall back to roofline", () => {
    const ops = Object.fromEntries(
      (
        p.breakdown(
          makeBatch([
            { context: true, inputLength: 100, pastKvLength: 0 },
            { context: false, inputLength: 1, pastKvLength: 50 },
          ]),
        ) as OpTime[]
      ).map((o) => [o.op, o]),
    );
    expect(ops.qkv_gemm!.source).toBe("interp");
    expect(ops.qkv_gemm!.ms).toBeCloseTo(32 * 2 * gemmSolMs(gpu, 101, 6144, 4096, "bf16"), 10);
    // 28672 × 4096 holds the utilization of its nearest measured pair (n = 6144): util 0.5.
    expect(ops.gate_ffn1_gemm!.source).toBe("util-extrapolated");
    expect(ops.gate_ffn1_gemm!.ms).toBeCloseTo(32 * 2 * gemmSolMs(gpu, 101, 28672, 4096, "bf16"), 10);
    expect(ops.add_norm_1!.source).toBe("empirical");
    expect(ops.add_norm_1!.ms).toBeCloseTo(32 * ((1000 * 101 * 32768) / (3.35e12 * 0.8) + 0.003), 10);
    expect(ops.context_attention!.source).toBe("roofline-fallback");
    expect(ops.context_attention!.ms).toBeCloseTo(32 * roof.ctxAttnMs(1, 100, 0), 10);
    expect(ops.generation_attention!.source).toBe("roofline-fallback");
    expect(ops.generation_attention!.ms).toBeCloseTo(32 * roof.genAttnMs(1, 51), 10);
  });

  it("breakdown sums to predict, and the prefix-area factor scales the context table", () => {
    const attn = AicDatabase.fromRows({
      gemm: gemmRows,
      contextAttention: [1, 2].flatMap((batch) =>
        [16, 1024, 2048].map((isl) => ({
          batch,
          isl,
          step: 0,
          heads: 32,
          kvHeads: 8,
          headDim: 128,
          window: 0,
          attnDtype: "bfloat16",
          kvDtype: "bfloat16",
          latency: batch * (isl / 1024) ** 2 * 0.05 + 0.01,
        })),
      ),
    });
    const q = aicPredictorWith(cfg, attn, { overheads: ZERO_OVERHEADS });
    const batch = makeBatch([{ context: true, inputLength: 1024, pastKvLength: 1024 }]);
    const ops = q.breakdown(batch) as OpTime[];
    expect(ops.reduce((s, o) => s + o.ms, 0)).toBeCloseTo(q.predict(batch), 10);
    const ctx = ops.find((o) => o.op === "context_attention")!;
    expect(ctx.source).toBe("table");
    expect(ctx.ms).toBeCloseTo(32 * (0.2 + 0.01) * ((2048 ** 2 - 1024 ** 2) / 2048 ** 2), 10);
  });

  it("per-request context attention pays the kernel floor per request", () => {
    const rowsFloor = [1, 2, 4].flatMap((batch) =>
      [16, 64, 128, 256].map((isl) => ({
        batch,
        isl,
        step: 0,
        heads: 32,
        kvHeads: 8,
        headDim: 128,
        window: 0,
        attnDtype: "bfloat16",
        kvDtype: "bfloat16",
        latency: 0.014 + batch * isl * 1e-5,
      })),
    );
    const floorDb = AicDatabase.fromRows({ gemm: gemmRows, contextAttention: rowsFloor });
    const grouped = aicPredictorWith(cfg, floorDb);
    const perReq = aicPredictorWith({ ...cfg, ctxAttention: "per-request" }, floorDb);
    const batch = makeBatch([16, 16, 16, 16].map((e) => ({ context: true, inputLength: e, pastKvLength: 0 })));
    const ca = (pr: typeof grouped) => (pr.breakdown(batch) as OpTime[]).find((o) => o.op === "context_attention")!.ms;
    expect(ca(grouped)).toBeCloseTo(32 * (0.014 + 4 * 16e-5), 10);
    expect(ca(perReq)).toBeCloseTo(32 * 4 * (0.014 + 16e-5), 10);
  });
});
