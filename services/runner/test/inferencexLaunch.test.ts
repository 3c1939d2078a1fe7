import { describe, expect, it } from "vitest";
import { benchmarkWorkload, INFERENCEX_METHOD, INFERENCEX_NO_WARMUP_METHOD, methodForRow } from "../src/validation/benchmarkMethod.js";
import { inferencexMaxNumTokens, inferencexWarmedUp, measuredDate } from "../src/validation/inferencexLaunch.js";

const R1 = "deepseek-ai/DeepSeek-R1";
const row = (source: string, modelPath = R1, system = "h200_sxm", isl = 1024) => ({ source, modelPath, system, isl });
const before = "source_file=2026-04-06.csv; model=DeepSeek-R1; silicon_concurrency=4; measured=2025-11-02T00:00:00.000Z; wip=False";
const after = "source_file=2026-03-25.csv; model=DeepSeek-R1; silicon_concurrency=64; measured=2026-01-28T06:18:44Z; wip=False";

describe("InferenceX's launch history", () => {
  it("reads the measured date of a row's source", () => {
    expect(measuredDate(before)).toBe("2025-11-02");
    expect(measuredDate(after)).toBe("2026-01-28");
    expect(measuredDate("db-dump/2026-04-27; config_id=83")).toBeUndefined();
  });

  it("rows measured before 2026-01-21 ran without the client's warm-up", () => {
    expect(inferencexWarmedUp({ source: before })).toBe(false);
    expect(inferencexWarmedUp({ source: after })).toBe(true);
    expect(inferencexWarmedUp({ source: "source_file=x.csv; measured=2026-01-21T00:00:00Z" })).toBe(true);
    expect(methodForRow({ source: before })).toBe(INFERENCEX_NO_WARMUP_METHOD);
    expect(methodForRow({ source: after })).toBe(INFERENCEX_METHOD);
    const wl = benchmarkWorkload({ isl: 1024, osl: 1024, concurrency: 8 }, INFERENCEX_NO_WARMUP_METHOD);
    expect(wl.warmup).toHaveLength(0);
    expect(wl.requests).toHaveLength(80);
  });

  it("DeepSeek's H200 script sized max_num_tokens CONC + ISL + 64 (rounded up to 64), floored at 8,192 from 2026-01-21", () => {
    expect(inferencexMaxNumTokens(row(before), 4, 1, 0)).toBe(1152);
    expect(inferencexMaxNumTokens(row(before, R1, "h200_sxm", 8192), 64, 8, 0)).toBe(8320);
    expect(inferencexMaxNumTokens(row(after), 64, 1, 0)).toBe(8192);
  });

  it("its MTP twin sized it (MTP + 1) × max_batch_size + ISL + 64, max_batch_size per attention-DP rank", () => {
    expect(inferencexMaxNumTokens(row(before), 64, 1, 3)).toBe(1344);
    expect(inferencexMaxNumTokens(row(before), 128, 8, 1)).toBe(1152);
  });

  it("gpt-oss's H200 script used 20,000; other systems and models keep the replay's default", () => {
    expect(inferencexMaxNumTokens(row(before, "openai/gpt-oss-120b"), 4, 1, 0)).toBe(20_000);
    expect(inferencexMaxNumTokens(row(before, R1, "b200_sxm"), 4, 1, 0)).toBeUndefined();
    expect(inferencexMaxNumTokens(row(before, "meta-llama/Llama-3.1-70B"), 4, 1, 0)).toBeUndefined();
  });
});
