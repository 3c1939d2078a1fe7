import { existsSync, readFileSync } from "node:fs";
import { makeBatch } from "@servesim/core";
import { TRTLLM_DEFAULT_CUDA_GRAPHS, TRTLLM_PYTORCH_TIMING } from "@servesim/engine";
import { createPredictor, type LocalPredictor } from "@servesim/perf";
import { sharedDataPath } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import {
  AIC_GAP_ANALYSIS_DYNAMO_METHOD,
  AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD,
  AIC_GAP_ANALYSIS_METHOD,
  benchmarkWorkload,
  INFERENCEX_METHOD,
  inferencexAdpBalance,
  inferencexServer,
  methodForRow,
} from "../src/validation/benchmarkMethod.js";
import { formatCoverage, siliconCoverage } from "../src/validation/coverage.js";
import { inSample, kFold, leaveOneGroupOut } from "../src/validation/folds.js";
import { parallelColumns, rowSetup } from "../src/validation/modernRows.js";
import { engineOptionsFor, predictorConfigFor, replayRow, timingFor } from "../src/validation/replay.js";
import { parseSiliconCsv, type ReplayableRow, selectReplayableRows } from "../src/validation/silicon.js";
import { slotSignatures } from "../src/validation/slotSignature.js";
import { formatValidationTable, robustOutliers, ttftArtefacts, validateAgainstSilicon } from "../src/validation/validate.js";

const HEADER =
  "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,gemm_quant_mode,moe_quant_mode,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms";
const CSV = [
  HEADER,
  'a,"src; silicon_concurrency=8, quoted",trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,128,,,8,1,1,,190.9,7.9',
  "b,x,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,128,,,16,1,1,,143.9,9.7",
  "c,x,trtllm,,meta-llama/Llama-3.1-70B,h200_sxm,fp8,agg,1024,1024,fp8,fp8,4,2,1,1,230.4,7.9",
  "d,x,vllm,0.9,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,128,,,8,1,1,,100,5",
  "e,x,trtllm,1.0,deepseek-ai/DeepSeek-R1,h200_sxm,fp8,agg,1024,128,,,8,8,1,8,100,5",
  "f,x,trtllm,1.0,meta-llama/Llama-3.1-8B-Instruct,b200_sxm,,agg,1024,128,,,8,1,1,,100,5",
  "g,x,trtllm,1.0,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,disagg,1024,128,,,8,1,1,,100,5",
].join("\n");

describe("silicon CSV", () => {
  it("parses rows (with quoted fields) and keeps the replayable ones", () => {
    const rows = parseSiliconCsv(CSV);
    expect(rows).toHaveLength(7);
    expect(rows[0]).toMatchObject({
      id: "a",
      modelPath: "meta-llama/Llama-3.1-8B-Instruct",
      concurrency: 8,
      tp: 1,
      pp: 1,
      attentionDp: 1,
      ttftMs: 190.9,
      tpotMs: 7.9,
    });
    const ok = selectReplayableRows(rows);
    expect(ok.map((r) => r.id)).toEqual(["a", "b", "c"]);
    expect(ok[0]).toMatchObject({ model: "Llama-3.1-8B", weightDtype: "bf16", kvDtype: "bf16" });
    expect(ok[2]).toMatchObject({ model: "Llama-3.1-70B", weightDtype: "fp8", kvDtype: "fp8", tp: 2 });
    expect(() => parseSiliconCsv("id,backend\n1,trtllm")).toThrow(/column "model_path" is missing/);
  });

  it("a quoted field may hold a newline (the hand-written splitter broke the row in two)", () => {
    const rows = parseSiliconCsv(CSV.replace('"src; silicon_concurrency=8, quoted"', '"src;\nsilicon_concurrency=8, ""quoted"""'));
    expect(rows.map((r) => r.id)).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    expect(rows[0]).toMatchObject({ modelPath: "meta-llama/Llama-3.1-8B-Instruct", concurrency: 8, ttftMs: 190.9 });
    expect(() => parseSiliconCsv(`${HEADER}\na,"open quote`)).toThrow(/^silicon csv line 2: invalid CSV: Quote Not Closed/);
  });

  it("flags TTFT artefacts and robust outliers", () => {
    const rows = parseSiliconCsv(CSV);
    // Row a (concurrency 8) has a higher TTFT than row b (concurrency 16) of the same setup.
    expect([...ttftArtefacts(rows)]).toEqual(["a"]);
    expect(robustOutliers([1, 1.02, 0.98, 1.01, 0.99, 1.03, 5])).toEqual([false, false, false, false, false, false, true]);
    expect(robustOutliers([1, 1, 1])).toEqual([false, false, false]);
  });
});

describe("benchmark method", () => {
  const rows = parseSiliconCsv(CSV);

  it("by source: AIConfigurator's gap-analysis runs, else InferenceX", () => {
    expect(methodForRow({ source: "source_file=/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.0.0rc3/a.csv" })).toBe(AIC_GAP_ANALYSIS_METHOD);
    expect(methodForRow({ source: "source_file=2026-04-06.csv; model=Llama-3.1-70B" })).toBe(INFERENCEX_METHOD);
    expect(methodForRow({ source: "" })).toBe(INFERENCEX_METHOD);
    expect(INFERENCEX_METHOD.slots(8)).toBe(8);
    expect(AIC_GAP_ANALYSIS_METHOD.slots(8)).toBe(7);
    expect(AIC_GAP_ANALYSIS_METHOD.slots(1)).toBe(1);
  });

  it("trtllm-serve's front end on trtllm-serve rows, not on rows Dynamo served", () => {
    const dynamo = methodForRow({
      source: "source_file=/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.2.0rc6.post1/q.csv; image=nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.8.0",
    });
    expect(dynamo).toBe(AIC_GAP_ANALYSIS_DYNAMO_METHOD);
    expect(dynamo.slots(8)).toBe(7);
    const row = selectReplayableRows(rows)[0]!;
    expect(engineOptionsFor(row, AIC_GAP_ANALYSIS_METHOD, 8, true).frontEnd).toEqual(TRTLLM_PYTORCH_TIMING.serveFrontEnd);
    expect(engineOptionsFor(row, INFERENCEX_METHOD, 8, true).frontEnd).toEqual(TRTLLM_PYTORCH_TIMING.serveFrontEnd);
    expect(engineOptionsFor(row, dynamo, 8, true).frontEnd).toBeUndefined();
  });

  it("a gap-analysis file whose TTFT is flat in OSL gives every request a slot (the slope of TTFT over the inter-completion interval)", () => {
    const src = (f: string) => `source_file=/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.0.0rc3/${f}; silicon_concurrency=8`;
    // wait.csv: TTFT grows by one interval (TPOT × OSL / 8): +8 × (256 − 128) / 8 = +128 ms, ratio 1.
    // flat.csv: the same TPOTs, TTFT unchanged: ratio 0. one.csv: a single OSL, no signature.
    const csv = [
      HEADER,
      `w1,"${src("wait.csv")}",trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,128,,,8,1,1,,100,8`,
      `w2,"${src("wait.csv")}",trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,256,,,8,1,1,,228,8`,
      `f1,"${src("flat.csv")}",trtllm,1.0.0rc3,Qwen/Qwen3-32B,h100_sxm,,agg,1024,128,,,8,1,1,,100,8`,
      `f2,"${src("flat.csv")}",trtllm,1.0.0rc3,Qwen/Qwen3-32B,h100_sxm,,agg,1024,256,,,8,1,1,,100,8`,
      `o1,"${src("one.csv")}",trtllm,1.0.0rc3,Qwen/Qwen3-32B,h100_sxm,,agg,1024,256,,,8,1,1,,100,8`,
    ].join("\n");
    const rows = parseSiliconCsv(csv);
    const sig = slotSignatures(rows);
    expect(sig.get("/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.0.0rc3/wait.csv")).toEqual({ ratio: 1, points: 1, slotWait: true });
    expect(sig.get("/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.0.0rc3/flat.csv")).toEqual({ ratio: 0, points: 1, slotWait: false });
    expect(sig.has("/Users/x/aic-auto-gap-analysis/data/h100_sxm/trtllm/1.0.0rc3/one.csv")).toBe(false);
    expect(rows.map((r) => methodForRow(r, sig))).toEqual([
      AIC_GAP_ANALYSIS_METHOD,
      AIC_GAP_ANALYSIS_METHOD,
      AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD,
      AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD,
      AIC_GAP_ANALYSIS_METHOD,
    ]);
    expect(AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD.slots(8)).toBe(8);
  });

  it("InferenceX's attention-DP servers balance contexts (DeepSeek: timeout 60, no batching wait; gpt-oss: TensorRT-LLM's defaults)", () => {
    expect(inferencexAdpBalance("deepseek-ai/DeepSeek-R1")).toEqual({ timeoutIters: 60, batchingWaitIters: 0 });
    expect(inferencexAdpBalance("openai/gpt-oss-120b")).toEqual({ timeoutIters: 50, batchingWaitIters: 10 });
    expect(inferencexAdpBalance("meta-llama/Llama-3.1-70B")).toBeUndefined();
    expect(AIC_GAP_ANALYSIS_METHOD.attentionDpBalance).toBeUndefined();
  });

  it("an fp8 row of a block-scaled FP8 checkpoint runs fp8_block", () => {
    const header = `${HEADER},moe_tp_size,moe_ep_size`;
    const csv = [header, "r,x,trtllm,1.1.0,deepseek-ai/DeepSeek-R1,h200_sxm,fp8,agg,1024,1024,fp8,fp8,8,8,1,1,100,5,1,8"].join("\n");
    const row = parseSiliconCsv(csv)[0]!;
    expect(rowSetup(row, parallelColumns(csv).get("r"))).toMatchObject({ weight: "fp8_block", tp: 8, ep: 8, moeTp: 1 });
  });

  it("InferenceX's 70B server: max_num_tokens = max(ISL + OSL + 256, 8192), batch waiting (0.9, 20) for 1k/1k below TP 8", () => {
    expect(inferencexServer({ isl: 1024, osl: 1024, tp: 4 })).toEqual({ maxNumTokens: 8192, batchWait: { timeoutIters: 20, maxTokensRatio: 0.9 } });
    expect(inferencexServer({ isl: 1024, osl: 1024, tp: 8 })).toEqual({ maxNumTokens: 8192 });
    expect(inferencexServer({ isl: 1024, osl: 8192, tp: 1 })).toEqual({ maxNumTokens: 9472 });
    expect(inferencexServer({ isl: 8192, osl: 1024, tp: 2 })).toEqual({ maxNumTokens: 9472 });
    const row = { ...selectReplayableRows(parseSiliconCsv(CSV))[0]!, isl: 1024, osl: 1024, tp: 1 };
    expect(engineOptionsFor(row, INFERENCEX_METHOD, 8, true)).toMatchObject({ maxNumTokens: 8192, batchWait: { timeoutIters: 20, maxTokensRatio: 0.9 } });
    expect(engineOptionsFor(row, AIC_GAP_ANALYSIS_METHOD, 8, true).batchWait).toBeUndefined();
  });

  it("workload: 10 × concurrency requests after 2 × concurrency warm-up, lengths uniform in [0.8 L, L], seeded", () => {
    const row = { isl: 1024, osl: 128, concurrency: 8 };
    const w = benchmarkWorkload(row, INFERENCEX_METHOD);
    expect(w.requests).toHaveLength(80);
    expect(w.warmup).toHaveLength(16);
    expect(w.concurrency).toBe(8);
    for (const r of [...w.requests, ...w.warmup]) {
      expect(r.inputLength).toBeGreaterThanOrEqual(820);
      expect(r.inputLength).toBeLessThanOrEqual(1024);
      expect(r.outputTokens).toBeGreaterThanOrEqual(103);
      expect(r.outputTokens).toBeLessThanOrEqual(128);
    }
    const mean = w.requests.reduce((s, r) => s + r.inputLength, 0) / w.requests.length;
    expect(mean).toBeGreaterThan(0.85 * 1024);
    expect(mean).toBeLessThan(0.95 * 1024);
    expect(benchmarkWorkload(row, INFERENCEX_METHOD)).toEqual(w);
    expect(benchmarkWorkload(row, INFERENCEX_METHOD, { seed: 1 })).not.toEqual(w);
    // Attention-DP ranks or replicas share the row's concurrency.
    expect(benchmarkWorkload({ ...row, concurrency: 10 }, INFERENCEX_METHOD, { ranks: 4 }).concurrency).toBe(3);
    expect(benchmarkWorkload(row, INFERENCEX_METHOD, { maxRequests: 20 }).requests).toHaveLength(20);
  });

  it("coverage counts replayable rows by backend, mode, system and model, with the reasons", () => {
    const c = siliconCoverage(rows);
    expect(c.rows).toBe(7);
    expect(c.replayable).toBe(3);
    expect(c.by.backend).toEqual([
      { value: "trtllm", rows: 6, replayable: 3 },
      { value: "vllm", rows: 1, replayable: 0 },
    ]);
    expect(c.by.mode).toEqual([
      { value: "agg", rows: 6, replayable: 3 },
      { value: "disagg", rows: 1, replayable: 0 },
    ]);
    expect(c.reasons).toEqual([
      { reason: "backend vllm", rows: 1 },
      { reason: "mode disagg (replayed by validate --disagg)", rows: 1 },
      { reason: "moe architecture", rows: 1 },
      { reason: "system b200_sxm", rows: 1 },
    ]);
    expect(formatCoverage(c)).toContain("Coverage: 3 of 7 rows replayable");
  });
});

describe("fold selection", () => {
  // Two candidates, six rows: candidate 0 is exact on rows 0-2 (model A), candidate 1 on rows 3-5 (model B).
  const c0 = { ttft: Float64Array.from([0, 0, 0, 30, 30, 30]), tpot: Float64Array.from([0, 0, 0, 10, 10, 10]) };
  const c1 = { ttft: Float64Array.from([20, 20, 20, 0, 0, 0]), tpot: Float64Array.from([5, 5, 5, 0, 0, 0]) };

  it("in-sample picks the lowest mean |TTFT| + |TPOT| error on all rows", () => {
    const r = inSample([c0, c1], 6);
    expect(r.picks).toEqual([{ fold: "all rows", candidate: 1, rows: 6 }]);
    expect(r.ttftMape).toBe(10);
    expect(r.tpotMape).toBe(2.5);
  });

  it("leave-one-group-out predicts each group with the candidate fitted on the others", () => {
    const r = leaveOneGroupOut([c0, c1], ["A", "A", "A", "B", "B", "B"]);
    expect(r.picks).toEqual([
      { fold: "A", candidate: 1, rows: 3 },
      { fold: "B", candidate: 0, rows: 3 },
    ]);
    expect(r.ttftMape).toBe(25);
    expect(r.tpotMape).toBe(7.5);
  });

  it("k-fold covers every row once", () => {
    const r = kFold([c0, c1], 6, 3);
    expect(r.picks.map((p) => p.rows).reduce((a, b) => a + b, 0)).toBe(6);
    expect(r.picks).toHaveLength(3);
  });
});

describe("replay", () => {
  const row = selectReplayableRows(parseSiliconCsv(CSV))[0]!;

  it("engine settings: max_batch_size from the method (gap analysis: concurrency − 1), the heuristic's max_num_tokens, KV from GPU memory, overlap by default", () => {
    const e = engineOptionsFor(row, AIC_GAP_ANALYSIS_METHOD, 8, true);
    expect(e).toMatchObject({
      maxBatchSize: 7,
      maxNumTokens: 3840,
      maxSeqLen: 1152,
      chunking: null,
      capacityPolicy: "guaranteed_no_evict",
      tokensPerBlock: 32,
      overlap: true,
    });
    expect(e.arrivals).toEqual({ kind: "concurrency", concurrency: 8 });
    expect(engineOptionsFor(row, INFERENCEX_METHOD, 8, false)).toMatchObject({ maxBatchSize: 8, overlap: false });
    expect(timingFor(row)).toMatchObject({ model: "overlap", layers: 32, cudaGraphs: TRTLLM_DEFAULT_CUDA_GRAPHS });
    expect(timingFor(row, { model: "non-overlap", cudaGraphs: null })).toMatchObject({ model: "non-overlap", cudaGraphs: null });
  });

  it("a one-at-a-time run reproduces the predictor's prefill and decode times (host hidden under overlap)", async () => {
    const single: ReplayableRow = { ...row, source: "", isl: 128, osl: 16, concurrency: 1 };
    const settings = {
      predictor: "roofline" as const,
      method: { ...INFERENCEX_METHOD, lengthRatio: 1 },
      timing: { host: { stepUs: 0, perRequestUs: 0, launchUsPerLayer: 0 }, frontEnd: { perRequestUs: 0, perPromptTokenUs: 0, perResponseUs: 0 } },
    };
    const p = (await createPredictor(predictorConfigFor(single, settings))) as LocalPredictor;
    const r = replayRow(single, p, settings);
    expect(r.requests).toBe(10);
    expect(r.ttftMs).toBeCloseTo(p.predict(makeBatch([{ context: true, inputLength: 128, pastKvLength: 0 }])), 9);
    const steps = Array.from({ length: 15 }, (_, i) => p.predict(makeBatch([{ context: false, inputLength: 1, pastKvLength: 128 + i }])));
    expect(r.tpotMs).toBeCloseTo(steps.reduce((a, b) => a + b, 0) / 15, 9);
  });
});

const csvPath = sharedDataPath("silicon_sample.csv");
const present = existsSync(csvPath);
if (!present) console.log(`skipping silicon validation: ${csvPath} not found`);

describe.skipIf(!present)("roofline against silicon_sample.csv (Llama-3.1-8B, H100, TP1/TP2)", () => {
  it("replays every selected row; TPOT within the fitted accuracy; TTFT grows with OSL as measured", async () => {
    const report = await validateAgainstSilicon(readFileSync(csvPath, "utf8"), {
      predictors: ["roofline"],
      filter: (r) => r.model === "Llama-3.1-8B" && r.tp <= 2,
    });
    expect(report.summary.rows).toBe(87);
    expect(report.summary.coverage.rows).toBe(5221);
    expect(report.summary.coverage.replayable).toBe(429);
    expect(report.summary.tpot_mape_all["roofline"]).toBeLessThan(10);
    expect(report.summary.ttft_mape_all["roofline"]).toBeLessThan(30);
    // Concurrency 8, ISL 1024: measured 191 / 318 / 550 ms for OSL 128 / 256 / 512; the replay grows the same way.
    const at = (osl: number) => report.rows.find((r) => r.tp === 1 && r.isl === 1024 && r.concurrency === 8 && r.osl === osl)!.predicted_ttft_ms;
    expect(at(256) - at(128)).toBeGreaterThan(80);
    expect(at(512) - at(256)).toBeGreaterThan(160);
    expect(formatValidationTable(report)).toMatch(/roofline\s+Llama-3.1-8B\s+h100_sxm\s+87/);
  });
});
