import { existsSync, readFileSync } from "node:fs";
import { makeBatch } from "@servesim/core";
import { createPredictor, type LocalPredictor } from "@servesim/perf";
import { sharedDataPath } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { engineOptionsFor, predictorConfigFor, replayRow } from "../src/validation/replay.js";
import { parseSiliconCsv, type ReplayableRow, selectReplayableRows } from "../src/validation/silicon.js";
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

describe("replay", () => {
  const row = selectReplayableRows(parseSiliconCsv(CSV))[0]!;

  it("engine settings follow the trtllm-bench heuristic and the KV capacity estimate", () => {
    const e = engineOptionsFor(row);
    // 8B bf16 TP1, ISL 1024 / OSL 128: 416 requests fit → 512; 3746 tokens → 3840 (≥ 1024 + 512).
    expect(e).toMatchObject({
      maxBatchSize: 512,
      maxNumTokens: 3840,
      maxSeqLen: 1152,
      chunking: null,
      capacityPolicy: "guaranteed_no_evict",
      tokensPerBlock: 32,
    });
    expect(e.numBlocks).toBe(14_042);
    expect(e.arrivals).toEqual({ kind: "concurrency", concurrency: 8 });
    expect(engineOptionsFor(row, { chunkedPrefill: true }).chunking).toBe("first_come_first_served");
  });

  it("a one-at-a-time run reproduces the predictor's prefill and decode times", async () => {
    const single: ReplayableRow = { ...row, isl: 128, osl: 16, concurrency: 1 };
    const settings = { predictor: "roofline" as const };
    const p = (await createPredictor(predictorConfigFor(single, settings))) as LocalPredictor;
    const r = replayRow(single, p, settings);
    expect(r.requests).toBe(64);
    expect(r.ttftMs).toBeCloseTo(p.predict(makeBatch([{ context: true, inputLength: 128, pastKvLength: 0 }])), 9);
    const steps = Array.from({ length: 15 }, (_, i) => p.predict(makeBatch([{ context: false, inputLength: 1, pastKvLength: 128 + i }])));
    expect(r.tpotMs).toBeCloseTo(steps.reduce((a, b) => a + b, 0) / 15, 9);
  });
});

const csvPath = sharedDataPath("silicon_sample.csv");
const present = existsSync(csvPath);
if (!present) console.log(`skipping silicon validation: ${csvPath} not found`);

describe.skipIf(!present)("roofline against silicon_sample.csv (Llama-3.1-8B, H100, TP1/TP2)", () => {
  it("TPOT stays within the calibrated accuracy", async () => {
    const report = await validateAgainstSilicon(readFileSync(csvPath, "utf8"), {
      predictors: ["roofline"],
      filter: (r) => r.model === "Llama-3.1-8B" && r.tp <= 2,
    });
    expect(report.summary.rows).toBe(87);
    expect(report.summary.tpot_mape["roofline"]).toBeLessThan(12);
    expect(formatValidationTable(report)).toMatch(/roofline\s+Llama-3.1-8B\s+h100_sxm\s+87/);
  });
});
