import { describe, expect, it } from "vitest";
import { parallelColumns } from "../src/validation/modernRows.js";
import { relistedLayouts } from "../src/validation/relistedRuns.js";
import { parseSiliconCsv } from "../src/validation/silicon.js";

const HEADER =
  "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms";
const R1 = "deepseek-ai/DeepSeek-R1";
const src = (c: number) => `"source_file=2026-04-06.csv; silicon_concurrency=${c}; measured=2026-01-14T00:00:00.000Z"`;

describe("runs listed as TP × EP", () => {
  const csv = [
    HEADER,
    // TP 8 EP 8 listed as tp_size 64 (MoE TP 8 × EP 8); attention DP 8 as 64 ranks; TP 4 EP 4 as 16.
    `tp64,${src(32)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,32,64,1,1,8,8,671.08,19.25`,
    `dp64,${src(128)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,2,1,1,64,8,8,3201.0,31.46`,
    `tp16,${src(16)},trtllm,,${R1},b200_sxm,fp4,agg,1024,1024,16,16,1,1,4,4,250.6,9.41`,
    // Within one node, not of that form, or not an HGX system: as listed.
    `tp8,${src(32)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,32,8,1,1,1,8,671.08,19.25`,
    `tp16x,${src(16)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,16,16,1,1,16,1,250.6,9.41`,
    `gb,${src(16)},trtllm,,${R1},gb200,fp4,agg,1024,1024,16,16,1,1,4,4,250.6,9.41`,
  ].join("\n");

  it("replays TP (or ranks) = MoE TP with the experts over MoE EP ranks, for rows beyond one HGX node only", () => {
    const out = relistedLayouts(parseSiliconCsv(csv), parallelColumns(csv));
    expect([...out.keys()]).toEqual(["tp64", "dp64", "tp16"]);
    const l = (id: string) => {
      const x = out.get(id)!;
      return [x.row.tp, x.row.attentionDp, x.cols.moeTp, x.cols.moeEp];
    };
    expect(l("tp64")).toEqual([8, 1, 1, 8]);
    expect(l("dp64")).toEqual([1, 8, 1, 8]);
    expect(l("tp16")).toEqual([4, 1, 1, 4]);
  });
});
