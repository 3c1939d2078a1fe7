import type { BatchPredictor, SimBatch } from "@servesim/core";
import { createAttentionDpLoop, createEngineLoop } from "@servesim/engine";
import { options, req } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { type ClusterEngine, ClusterSim, createRouter, resolveRouter } from "../src/index.js";

/** Context: 10 ms. Decode: 2 ms + 1 ms per request on the busiest attention-DP rank (the ranks wait for the slowest). */
const predictor: BatchPredictor = {
  description: "toy",
  predict: (b: SimBatch) => {
    if (b.numContext > 0) return 10;
    const perRank = new Map<number, number>();
    for (let i = 0; i < b.numGeneration; i++) {
      const k = b.attentionDpRank?.[i] ?? 0;
      perRank.set(k, (perRank.get(k) ?? 0) + 1);
    }
    return 2 + Math.max(...perRank.values());
  },
};

describe("ClusterSim with an attention-DP decode worker", () => {
  it("routes kvReady requests to the ranks and prices each step once for all ranks", async () => {
    const settings = (() => {
      const { arrivals: _, ...s } = options({ maxBatchSize: 4 });
      return s;
    })();
    const eng = (role: "prefill" | "decode", loop: ClusterEngine["loop"]): ClusterEngine => ({
      name: `${role}[0]`,
      role,
      pool: role,
      index: 0,
      loop,
      predictor,
      tokensPerBlock: 32,
      gpus: role === "decode" ? 2 : 1,
      maxActive: role === "decode" ? 8 : 4,
    });
    const router = () => createRouter(resolveRouter("round_robin", {}, "router"), 32, 1);
    const adp = createAttentionDpLoop({ ...settings, attentionDpRanks: 2 });
    const prefill = { role: "prefill" as const, engines: [eng("prefill", createEngineLoop(settings))], router: router() };
    const decode = { role: "decode" as const, engines: [eng("decode", adp)], router: router() };
    const requests = [req(0, 32, 3), req(1, 32, 3), req(2, 32, 4)];
    const plan = { order: Int32Array.from([0, 1, 2]), submitMs: new Float64Array(3), initiallySubmitted: 3, concurrency: 0 };
    // Only the 1 ms latency: no KV bytes.
    const transfer = { bytesPerTokenPerRank: 0, link: () => ({ kind: "rdma" as const, bandwidth: 1e6, latencyMs: 1 }) };
    const r = await new ClusterSim({ requests, plan, prefill, decode, transfer }).run();
    // Both prompts in one 10 ms prefill; both transfers take the 1 ms latency (no bytes to queue on the link).
    // At 11 TensorRT-LLM's router spreads the three requests over the two ranks (at most ceil(3 / 2) = 2 per
    // rank, the emptiest rank first): rank 0 takes requests 0 and 2, rank 1 request 1. Every step waits for
    // the busiest rank: 2 + 2 ms (11 → 15 → 19); then request 2 decodes alone on rank 0: 2 + 1 ms → 22.
    expect(r.records.map((x) => Array.from(x.tokenTimesMs))).toEqual([
      [10, 15, 19],
      [10, 15, 19],
      [10, 15, 19, 22],
    ]);
    expect(Array.from(r.stages.transferMs)).toEqual([1, 1, 1]);
    expect(r.engines.map((e) => [e.name, e.requests, e.iterations, e.busyMs])).toEqual([
      ["prefill[0]", 3, 1, 10],
      ["decode[0]", 3, 3, 11],
    ]);
    expect(adp.load()).toEqual({ queued: 0, active: 0, kvUsedBlocks: 0, kvTotalBlocks: 2 * settings.numBlocks });
  });
});
