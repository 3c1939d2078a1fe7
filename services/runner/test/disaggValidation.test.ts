import { describe, expect, it } from "vitest";
import { disaggJobSpec, disaggSkipReason, parseDisaggRows } from "../src/index.js";

const HEAD =
  "id,silicon_data_source,backend,mode,model_path,system,precision,isl,osl,batch_size,tp_size," +
  "prefill_batch_size,prefill_num_workers,prefill_tp_size,prefill_pp_size,prefill_attention_dp_size,prefill_moe_tp_size,prefill_moe_ep_size," +
  "decode_batch_size,decode_num_workers,decode_tp_size,decode_pp_size,decode_attention_dp_size,decode_moe_tp_size,decode_moe_ep_size," +
  "silicon_ttft_ms,silicon_tpot_ms";
const CSV = [
  HEAD,
  "a,db-dump/x,trtllm,disagg,deepseek-ai/DeepSeek-V3,gb200,fp4,1024,1024,,,1,1,4,1,1,1,4,16,4,8,1,1,1,8,300,10",
  "b,db-dump/x,trtllm,disagg,deepseek-ai/DeepSeek-V3,gb200,fp4,1024,1024,,,1,1,1,1,4,1,4,8,2,1,1,8,1,8,200,9",
  "c,source_file=y,trtllm,disagg,zhipuai/GLM-5,gb200,fp4,8192,1024,,,,,4,1,1,4,1,,,4,1,1,4,1,900,12",
  "d,db-dump/x,trtllm,agg,deepseek-ai/DeepSeek-V3,gb200,fp4,1024,1024,8,8,,,,,,,,,,,,,,,100,5",
  "e,db-dump/x,trtllm,disagg,acme/Unknown-LM-7B,gb200,fp4,1024,1024,,,1,40,1,1,1,1,1,8,6,4,1,1,1,1,100,5",
].join("\n");

describe("disaggregated silicon rows", () => {
  const rows = parseDisaggRows(CSV);

  it("reads the TensorRT-LLM disaggregated rows with their worker fields; concurrency = decode bs × adp × workers", () => {
    expect(rows.map((r) => r.id)).toEqual(["a", "b", "c", "e"]);
    expect(rows[0]!.prefill).toEqual({ batchSize: 1, workers: 1, tp: 4, pp: 1, attentionDp: 1, moeTp: 1, moeEp: 4 });
    expect(rows[0]!.concurrency).toBe(64);
    expect(rows[1]!.concurrency).toBe(128);
    expect(rows[2]!.prefill).toBeNull();
  });

  it("counts the rows it cannot replay with the reason", () => {
    expect(rows.map(disaggSkipReason)).toEqual([
      null,
      null,
      "no worker fields (prefill_*/decode_* sizes and worker counts)",
      "model not in servesim's catalog",
    ]);
  });

  it("a row becomes a cluster job: TensorRT-LLM TP = tp × attention-DP ranks, max_batch_size per rank", () => {
    const a = disaggJobSpec(rows[0]!, { predictor: "aic", systemsDir: "/s" });
    expect(a.cluster?.prefill).toEqual({
      numWorkers: 1,
      parallelism: { tp: 4, pp: 1, ep: 4, moeTp: 1 },
      // The context server's token budget (16,384) holds 16 prompts of 1,024 tokens.
      maxBatchSize: 16,
      maxNumTokens: 16384,
      disableOverlapScheduler: true,
    });
    expect(a.cluster?.decode).toEqual({
      numWorkers: 4,
      parallelism: { tp: 8, pp: 1, ep: 8, moeTp: 1 },
      maxBatchSize: 16,
      maxNumTokens: 16,
      disableOverlapScheduler: false,
    });
    expect(a.engine?.concurrency).toBe(64);
    expect(a.predictor?.nearestTableVersion).toBe(true);
    // The inferencex method: 10 × concurrency requests, lengths uniform in [0.8·L, L].
    const reqs = a.workload!.inline!.requests;
    expect(reqs.length).toBe(640);
    expect(reqs.every((q) => q.inputLength >= 820 && q.inputLength <= 1024 && q.outputTokens >= 820 && q.outputTokens <= 1024)).toBe(true);
    const b = disaggJobSpec(rows[1]!, { predictor: "roofline", fixedLengths: true });
    expect(b.cluster?.prefill?.parallelism).toEqual({ tp: 4, pp: 1, ep: 4, moeTp: 1, attentionDp: true });
    expect(b.cluster?.decode?.maxBatchSize).toBe(8);
    expect(b.cluster?.decode?.maxNumTokens).toBe(8);
    expect(b.engine?.concurrency).toBe(128);
    expect(b.workload?.synthetic?.numRequests).toBe(1280);
  });
});
