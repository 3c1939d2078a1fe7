import { describe, expect, it } from "vitest";
import { disaggregatedTwins } from "../src/validation/disaggTwins.js";
import { ROW_MTP_ACCEPTANCE, rowMtpDrafts, rowMtpOptions } from "../src/validation/rowSpeculation.js";
import { parseSiliconCsv } from "../src/validation/silicon.js";

const HEADER =
  "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size,prefill_tp_size,decode_tp_size,decode_moe_tp_size,decode_moe_ep_size,silicon_ttft_ms,silicon_tpot_ms";
const R1 = "deepseek-ai/DeepSeek-R1";
const src = (c: number) => `"source_file=2026-04-06.csv; silicon_concurrency=${c}"`;

describe("aggregated rows that are disaggregated runs", () => {
  const csv = [
    HEADER,
    // The flattened pair: agg TP 36 and a disagg row with context and generation TP 36, TPOT within 0.3 %.
    `agg36,${src(32)},trtllm,,${R1},gb200,fp4,agg,1024,1024,32,36,1,1,36,1,,,,,232.5,8.444`,
    `dis36,${src(32)},trtllm,,${R1},gb200,fp4,disagg,1024,1024,,,,,,,36,36,36,1,211.9,8.426`,
    // The same run with its real worker sizes (context TP 4, generation TP 8, EP 4): not a flattened twin.
    `dis4x8,${src(32)},trtllm,,${R1},gb200,fp4,disagg,1024,1024,,,,,,,4,8,1,4,260.9,8.45`,
    // An aggregated run next to a real 1P1D deployment of the same TP: the MoE layout differs, no twin.
    `agg8,${src(32)},trtllm,,${R1},b200_sxm,fp8,agg,1024,1024,32,8,1,1,8,1,,,,,296.4,10.876`,
    `dis8,${src(32)},trtllm,,${R1},b200_sxm,fp8,disagg,1024,1024,,,,,,,8,8,1,8,312.6,11.013`,
    // A flattened twin whose TPOT differs by 10 %: another run.
    `agg24,${src(64)},trtllm,,${R1},gb200,fp4,agg,1024,1024,64,24,1,1,24,1,,,,,300,10`,
    `dis24,${src(64)},trtllm,,${R1},gb200,fp4,disagg,1024,1024,,,,,,,24,24,24,1,300,11`,
    // No silicon_concurrency: never matched.
    `agg12,x,trtllm,,${R1},gb200,fp4,agg,1024,1024,64,12,1,1,12,1,,,,,300,10`,
    `dis12,x,trtllm,,${R1},gb200,fp4,disagg,1024,1024,,,,,,,12,12,12,1,300,10`,
  ].join("\n");

  it("pairs an agg row with the disagg row carrying its TP as both pools' TP, same layout, concurrency and TPOT", () => {
    expect([...disaggregatedTwins(csv)]).toEqual([["agg36", "dis36"]]);
  });
});

describe("rows that ran MTP", () => {
  const rows = parseSiliconCsv(
    [
      "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms",
      `post3,${src(32)},trtllm,1.2.0rc6.post3,${R1},b200_sxm,fp4,agg,1024,1024,32,8,1,1,300,5`,
      `post2,${src(32)},trtllm,1.2.0rc6.post2,${R1},b200_sxm,fp4,agg,1024,1024,32,8,1,1,300,8`,
      `gap,source_file=/x/aic-auto-gap-analysis/data/b200_sxm/trtllm/1.2.0rc6.post3/r1.csv,trtllm,1.2.0rc6.post3,${R1},b200_sxm,fp4,agg,1024,1024,32,8,1,1,300,8`,
      `h200,${src(32)},trtllm,1.2.0rc6.post3,${R1},h200_sxm,fp8,agg,1024,1024,32,8,1,1,300,8`,
    ].join("\n"),
  );
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));

  it("InferenceX's DeepSeek-R1 B200 rows on the -mtp image ran 3 drafts (1 with attention DP); other rows none", () => {
    expect(rowMtpDrafts(byId.post3!, { attentionDp: false })).toBe(3);
    expect(rowMtpDrafts(byId.post3!, { attentionDp: true })).toBe(1);
    expect(rowMtpDrafts(byId.post2!, { attentionDp: false })).toBe(0);
    expect(rowMtpDrafts(byId.gap!, { attentionDp: false })).toBe(0);
    expect(rowMtpDrafts(byId.h200!, { attentionDp: false })).toBe(0);
  });

  it("InferenceX's DeepSeek-R1 rows of the 2026-01-14 sweep of the -mtp configs ran MTP on H200 and B200", () => {
    const sweep = parseSiliconCsv(
      [
        "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms",
        `h200mtp,"source_file=2026-03-25.csv; silicon_concurrency=64; measured=2026-01-14T22:26:21Z",trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,8192,64,8,1,1,1200,19.4`,
        `h200plain,"source_file=2026-03-25.csv; silicon_concurrency=64; measured=2026-01-28T06:18:44Z",trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,8192,64,8,1,1,1200,32.2`,
        `b200mtp,"source_file=2026-04-06.csv; silicon_concurrency=8; measured=2026-01-14T00:00:00.000Z",trtllm,1.1.0rc2.post2,${R1},b200_sxm,fp4,agg,1024,1024,8,8,1,1,220,6`,
        `v3,"source_file=2026-04-06.csv; silicon_concurrency=8; measured=2026-01-14T00:00:00.000Z",trtllm,1.1.0rc2.post2,deepseek-ai/DeepSeek-V3,h200_sxm,fp8,agg,1024,1024,8,8,1,1,220,6`,
      ].join("\n"),
    );
    const [h200mtp, h200plain, b200mtp, v3] = sweep;
    expect(rowMtpDrafts(h200mtp!, { attentionDp: false })).toBe(3);
    expect(rowMtpDrafts(h200mtp!, { attentionDp: true })).toBe(1);
    expect(rowMtpDrafts(b200mtp!, { attentionDp: false })).toBe(3);
    expect(rowMtpDrafts(h200plain!, { attentionDp: false })).toBe(0);
    expect(rowMtpDrafts(v3!, { attentionDp: false })).toBe(0);
  });

  it("the engine's MTP options carry one acceptance rate per draft", () => {
    expect(rowMtpOptions(3, ROW_MTP_ACCEPTANCE)).toEqual({
      kind: "mtp",
      maxDraftLen: 3,
      acceptanceRates: [ROW_MTP_ACCEPTANCE, ROW_MTP_ACCEPTANCE, ROW_MTP_ACCEPTANCE],
      seed: 0,
    });
  });
});
