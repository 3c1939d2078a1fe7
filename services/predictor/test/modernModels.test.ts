import { existsSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { createPredictor } from "@servesim/perf";
import { callError, config, ctx, gen, predict, sharedDataPath, startTestServer, type TestServer, wireBatch } from "@servesim/testkit";
import { decodeSimBatch } from "@servesim/wire";
import { type DescribePredictorResponse, type ListCatalogResponse, PredictorKind } from "@servesim/wire/predictor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const systemsDir = sharedDataPath("aic-systems");

describe("PredictorService: MoE models, attention DP and draft tokens", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  const adp = config({
    model: { name: "nvidia/DeepSeek-R1-0528-FP4" },
    deviceName: "b200_sxm",
    parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: true },
  });

  it("prices every attention-DP rank's batch at once (EntryFacts.attention_dp_rank), as the library does", async () => {
    const batch = wireBatch([ctx(512), gen(900), gen(300), gen(40)]);
    batch.facts = { attentionDpRank: [3, 0, 3, 7], numDraftTokens: [] };
    const remote = await predict(s.client, { config: adp, batch, includeBreakdown: true });
    const local = await createPredictor(adp);
    expect(remote.timeMs).toBe(await local.predict(decodeSimBatch(batch, { maxEntries: 100 })));
    expect(remote.breakdown.map((o) => o.op)).toEqual(expect.arrayContaining(["moe", "moe_allgather", "generation_attention"]));
  });

  it("Predict answers a pipeline's stage times (stage_ms: the library's predictStages), none without pipeline parallelism", async () => {
    // 61 layers over 3 stages: 21/20/20 (Mapping.pp_layers).
    const pp3 = config({ model: { name: "deepseek-ai/DeepSeek-R1" }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 3, ep: 8 } });
    const batch = wireBatch([ctx(512), gen(900), gen(300)]);
    const remote = await predict(s.client, { config: pp3, batch });
    const local = await createPredictor(pp3);
    const stages = new Float64Array(3);
    expect(remote.timeMs).toBe(await local.predictStages!(decodeSimBatch(batch, { maxEntries: 100 }), stages));
    expect(remote.stageMs).toEqual(Array.from(stages));
    expect(new Set(remote.stageMs).size).toBe(3);
    const flat = await predict(s.client, { config: { ...pp3, parallelism: { tp: 8, pp: 1, ep: 8 } }, batch });
    expect(flat.stageMs).toEqual([]);
  });

  it("rejects a rank outside the TP size and a draft count out of range, naming the field", async () => {
    const batch = wireBatch([gen(900), gen(300)]);
    batch.facts = { attentionDpRank: [0, 8], numDraftTokens: [] };
    const err = await callError(predict(s.client, { config: adp, batch }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details.startsWith("batch.facts.attention_dp_rank[1]: ")).toBe(true);
    batch.facts = { attentionDpRank: [], numDraftTokens: [1, 1000] };
    expect((await callError(predict(s.client, { config: adp, batch }))).details.startsWith("batch.facts.num_draft_tokens[1]: ")).toBe(true);
  });

  it("DescribePredictor reports per-rank memory, precisions, the MoE communication and the layout", async () => {
    const d = await new Promise<DescribePredictorResponse>((res, rej) => s.client.describePredictor({ config: adp }, (e, r) => (e ? rej(e) : res(r))));
    expect(d.kvBytesPerTokenPerGpu).toBe(61 * 576);
    expect(d.details?.opPrecisions).toEqual(["attention=bf16", "dense_mlp=nvfp4", "shared_experts=nvfp4", "experts=nvfp4"]);
    expect(d.details?.moeCommunication).toBe("allgather");
    expect(d.details?.parallelism).toBe("TP8 ADP8 EP8");
  });

  it.skipIf(!existsSync(systemsDir))("ListCatalog lists the table sets of a systems directory", async () => {
    const c = await new Promise<ListCatalogResponse>((res, rej) => s.client.listCatalog({ databasePath: systemsDir }, (e, r) => (e ? rej(e) : res(r))));
    expect(c.tableSets.filter((t) => t.system === "b200_sxm").map((t) => [t.version, t.newest])).toEqual([
      ["1.2.0rc5", false],
      ["1.3.0rc20", true],
    ]);
    expect(c.models.map((m) => m.name)).toEqual(
      expect.arrayContaining(["DeepSeek-R1", "gpt-oss-120b", "Kimi-K2.5", "GLM-5", "MiniMax-M2.5", "Qwen3-235B-A22B"]),
    );
    const bad = await callError(new Promise((res, rej) => s.client.listCatalog({ databasePath: "/no/such/dir" }, (e, r) => (e ? rej(e) : res(r)))));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
  });

  it("an aic configuration without backend_version uses the system's newest tables", async () => {
    if (!existsSync(systemsDir)) return;
    const cfg = config({ kind: PredictorKind.PREDICTOR_KIND_AIC, model: { name: "openai/gpt-oss-120b" }, deviceName: "b200_sxm", databasePath: systemsDir });
    const d = await new Promise<DescribePredictorResponse>((res, rej) => s.client.describePredictor({ config: cfg }, (e, r) => (e ? rej(e) : res(r))));
    expect(d.details?.tableVersion).toBe("1.3.0rc20");
    expect(d.description).toContain("b200_sxm trtllm 1.3.0rc20");
  });
});
