import { existsSync, readFileSync } from "node:fs";
import { createPredictor, type LocalPredictor } from "@servesim/perf";
import { sharedDataPath } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { engineOptionsFor, predictorConfigFor, replayRow } from "../src/validation/replay.js";
import { parseSiliconCsv, type ReplayableRow, selectReplayableRows } from "../src/validation/silicon.js";
import { validateAgainstSilicon } from "../src/validation/validate.js";

const HEADER =
  "id,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms";
const row = selectReplayableRows(
  parseSiliconCsv(`${HEADER}\na,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,bf16,agg,1024,128,8,1,1,1,190.9,7.9\n`),
)[0]!;

describe("silicon replay with the overlap scheduler", () => {
  it("is a replay setting (default off)", () => {
    expect(engineOptionsFor(row).overlap).toBe(false);
    expect(engineOptionsFor(row, { overlap: true }).overlap).toBe(true);
  });

  it("one request at a time: nothing is in flight when the next one arrives, so TTFT and TPOT are unchanged", async () => {
    const single: ReplayableRow = { ...row, isl: 128, osl: 16, concurrency: 1 };
    const p = (await createPredictor(predictorConfigFor(single, { predictor: "roofline" }))) as LocalPredictor;
    const off = replayRow(single, p, { predictor: "roofline" });
    const on = replayRow(single, p, { predictor: "roofline", overlap: true });
    expect(on.ttftMs).toBe(off.ttftMs);
    expect(on.tpotMs).toBe(off.tpotMs);
  });

  it("closed loop at concurrency 8: a request submitted when another ends waits for the batch already launched", async () => {
    const p = (await createPredictor(predictorConfigFor(row, { predictor: "roofline" }))) as LocalPredictor;
    const off = replayRow(row, p, { predictor: "roofline" });
    const on = replayRow(row, p, { predictor: "roofline", overlap: true });
    expect(on.ttftMs).toBeGreaterThan(off.ttftMs);
    expect(on.requests).toBe(off.requests);
  });
});

const csvPath = sharedDataPath("silicon_sample.csv");
const present = existsSync(csvPath);
if (!present) console.log(`skipping the overlap silicon validation: ${csvPath} not found`);

describe.skipIf(!present)("roofline with the overlap scheduler against silicon_sample.csv (Llama-3.1-8B, H100, TP1/TP2)", () => {
  it("raises the under-predicted TTFT (smaller median signed error) and keeps TPOT within the calibrated accuracy", async () => {
    const csv = readFileSync(csvPath, "utf8");
    const filter = (r: ReplayableRow) => r.model === "Llama-3.1-8B" && r.tp <= 2;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const off = await validateAgainstSilicon(csv, { predictors: ["roofline"], filter });
    const on = await validateAgainstSilicon(csv, { predictors: ["roofline"], filter, replay: { overlap: true } });
    expect(on.summary.settings.engine).toContain("overlap scheduler on");
    const ttftOff = median(off.rows.map((r) => r.ttft_error_pct));
    const ttftOn = median(on.rows.map((r) => r.ttft_error_pct));
    expect(ttftOff).toBeLessThan(0);
    expect(ttftOn).toBeGreaterThan(ttftOff);
    expect(on.summary.tpot_mape["roofline"]).toBeLessThan(12);
  });
});
