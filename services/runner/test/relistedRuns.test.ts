import { describe, expect, it } from "vitest";
import { parallelColumns } from "../src/validation/modernRows.js";
import { relistedRuns } from "../src/validation/relistedRuns.js";
import { parseSiliconCsv } from "../src/validation/silicon.js";

const HEADER =
  "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms";
const R1 = "deepseek-ai/DeepSeek-R1";
const src = (file: string, c: number) => `"source_file=${file}.csv; silicon_concurrency=${c}; measured=2026-01-14T00:00:00.000Z"`;

describe("a measurement listed twice under two layouts", () => {
  const csv = [
    HEADER,
    // 2026-03-25: TP 8 EP 8 and attention DP 8; 2026-04-06: the same runs as TP 64 (MoE 8 × 8) and 64 ranks.
    `tp8,${src("2026-03-25", 32)},trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,1024,32,8,1,1,1,8,671.0801966597501,19.25209975761523`,
    `tp64,${src("2026-04-06", 32)},trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,1024,32,64,1,1,8,8,671.0801966597501,19.252099757615234`,
    `dp8,${src("2026-03-25", 128)},trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,1024,16,1,1,8,1,8,3201.025608209602,31.458185946990813`,
    `dp64,${src("2026-04-06", 128)},trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,1024,2,1,1,64,8,8,3201.025608209602,31.458185946990813`,
    // Another run of the same setup (different latencies): not a relisting.
    `other,${src("2026-04-06", 32)},trtllm,1.1.0rc2.post2,${R1},h200_sxm,fp8,agg,1024,1024,32,64,1,1,8,8,700,20`,
    // The same measurement under two layouts that both fit one node: left alone.
    `fit4,${src("a", 8)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,8,4,1,1,1,4,300,10`,
    `fit2,${src("b", 8)},trtllm,,${R1},h200_sxm,fp8,agg,1024,1024,8,2,1,1,1,2,300,10`,
  ].join("\n");

  it("replays a row beyond one 8-GPU node with the layout of its twin that fits", () => {
    const out = relistedRuns(parseSiliconCsv(csv), parallelColumns(csv));
    expect([...out].map(([id, twin]) => [id, twin.id])).toEqual([
      ["tp64", "tp8"],
      ["dp64", "dp8"],
    ]);
  });
});
