import { describe, expect, it } from "vitest";
import { disaggregatedTwins } from "../src/validation/disaggTwins.js";
import { parallelColumns, rowSetup } from "../src/validation/modernRows.js";
import { ROW_MTP_ACCEPTANCE, rowMtpDrafts, rowMtpOptions } from "../src/validation/rowSpeculation.js";
import { parseSiliconCsv } from "../src/validation/silicon.js";
import { squaredParallelismRows, unsquareParallelism } from "../src/validation/squaredParallelism.js";

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

  it("the engine's MTP options carry one acceptance rate per draft", () => {
    expect(rowMtpOptions(3, ROW_MTP_ACCEPTANCE)).toEqual({
      kind: "mtp",
      maxDraftLen: 3,
      acceptanceRates: [ROW_MTP_ACCEPTANCE, ROW_MTP_ACCEPTANCE, ROW_MTP_ACCEPTANCE],
      seed: 0,
    });
  });
});

describe("MoE parallelism listed squared", () => {
  const H =
    "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms";
  const later = (c: number) => `"source_file=2026-04-06.csv; silicon_concurrency=${c}"`;
  const earlier = (c: number) => `"source_file=2026-03-25.csv; silicon_concurrency=${c}"`;
  const csv = [
    H,
    // InferenceX "tp8 ep8" runs on one 8-GPU node, listed as TP 64 and as 64 attention-DP ranks of batch 1.
    `tp64,${later(128)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,128,64,1,1,8,8,594.4,14.688`,
    `dp64,${later(64)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,1,1,1,64,8,8,1085.5,12.289`,
    // The same collection's "tp4 ep2" run fits a node as listed (TP 8) but is read back too (4 GPUs, MoE TP 2 × EP 2).
    `tp8,${later(16)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,16,8,1,1,4,2,300,9`,
    // Dense-expert layout (EP 1) and another collection's rows stay as listed.
    `ep1,${later(16)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,16,8,1,1,8,1,300,9`,
    `early,${earlier(64)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,8,1,1,8,1,8,1085.5,12.289`,
    `early4,${earlier(16)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,16,8,1,1,4,2,300,9`,
  ].join("\n");
  const rows = parseSiliconCsv(csv);
  const cols = parallelColumns(csv);

  it("reads a collection as squared when one of its MoE rows lists more GPUs than a node, and every MoE row of it back", () => {
    expect([...squaredParallelismRows(rows, cols)]).toEqual(["tp64", "dp64", "tp8"]);
  });

  it("runs a squared row on moe_tp_size GPUs with MoE TP moe_tp_size / moe_ep_size; attention-DP ranks share the closed loop", () => {
    const u = unsquareParallelism(rows, cols);
    const setup = (id: string) => rowSetup(u.rows.find((r) => r.id === id)!, u.cols.get(id));
    expect(setup("tp64")).toEqual({ model: "nvidia/DeepSeek-R1-0528-FP4", weight: "nvfp4", tp: 8, ep: 8, moeTp: 1, attentionDp: false, concurrency: 128 });
    expect(setup("dp64")).toEqual({ model: "nvidia/DeepSeek-R1-0528-FP4", weight: "nvfp4", tp: 8, ep: 8, moeTp: 1, attentionDp: true, concurrency: 64 });
    expect(u.rows.find((r) => r.id === "dp64")!.concurrency).toBe(8);
    expect(setup("tp8")).toEqual({ model: "nvidia/DeepSeek-R1-0528-FP4", weight: "nvfp4", tp: 4, ep: 2, moeTp: 2, attentionDp: false, concurrency: 16 });
    // The earlier export's row of the same run (identical measurements) gives the same setup as listed.
    expect(setup("early")).toEqual(setup("dp64"));
    expect(setup("ep1")).toMatchObject({ tp: 8, ep: 1, moeTp: 8 });
    expect(setup("early4")).toMatchObject({ tp: 8, ep: 2, moeTp: 4 });
  });
});
