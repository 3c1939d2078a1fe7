import type { BatchPredictor, SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { AcceptanceSampler, DraftTokensPredictor, type EngineOptions, runAttentionDp, runSimulation, type SimRequest, Simulation } from "../src/index.js";

/** 10 ms with a context entry, else 4 ms; keeps every batch's draft tokens and generation count. */
class Recorder implements BatchPredictor {
  readonly description = "recorder";
  readonly drafts: number[][] = [];
  predict(b: SimBatch): number {
    this.drafts.push(Array.from(b.draftTokens ?? []).slice(0, b.numContext + b.numGeneration));
    return b.numContext > 0 ? 10 : 4;
  }
}

const options = (o: Partial<EngineOptions>): EngineOptions => ({
  maxBatchSize: 4,
  maxNumTokens: 1000,
  maxSeqLen: 1000,
  ppSize: 1,
  capacityPolicy: "guaranteed_no_evict",
  chunking: null,
  tokensPerBlock: 4,
  numBlocks: 200,
  enableBlockReuse: false,
  arrivals: { kind: "all_at_once" },
  ...o,
});

const reqs = (n: number, out: number): SimRequest[] => Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: 16, outputTokens: out }));

describe("speculative decoding (MTP, Eagle3)", () => {
  it("every draft accepted: a step emits 1 + D tokens, the batch carries D drafts per entry", async () => {
    const p = new Recorder();
    const spec = { kind: "mtp" as const, maxDraftLen: 3, acceptanceRates: [1, 1, 1], seed: 0 };
    const o = options({ speculative: spec });
    const r = await runSimulation(new Simulation(o, reqs(2, 9)), new DraftTokensPredictor(p, 3));
    // Context (token 1) at 10 ms, then 4 tokens per step: tokens 2-5 at 14, 6-9 at 18.
    expect(Array.from(r.requests[0]!.tokenTimesMs)).toEqual([10, 14, 14, 14, 14, 18, 18, 18, 18]);
    expect(r.requests[0]!.tpotMs).toBe(1);
    expect(r.numIterations).toBe(3);
    expect(p.drafts).toEqual([
      [3, 3],
      [3, 3],
      [3, 3],
    ]);
  });

  it("no draft accepted: one token per step, as without speculation", async () => {
    const spec = { kind: "eagle3" as const, maxDraftLen: 2, acceptanceRates: [0, 0], seed: 0 };
    const r = await runSimulation(new Simulation(options({ speculative: spec }), reqs(1, 4)), new DraftTokensPredictor(new Recorder(), 2));
    expect(Array.from(r.requests[0]!.tokenTimesMs)).toEqual([10, 14, 18, 22]);
  });

  it("a drawn step never goes past the output length; the draws follow the sampler", async () => {
    const spec = { kind: "mtp" as const, maxDraftLen: 3, acceptanceRates: [0.8, 0.6, 0.5], seed: 42 };
    const r = await runSimulation(new Simulation(options({ speculative: spec }), reqs(3, 40)), new DraftTokensPredictor(new Recorder(), 3));
    const s = new AcceptanceSampler({ maxDraftLen: 3, rates: spec.acceptanceRates, seed: 42 });
    for (let q = 0; q < 3; q++) {
      const times = r.requests[q]!.tokenTimesMs;
      expect(times.length).toBe(40);
      // Replay the draws: tokens of one step share its end time.
      let e = 1;
      let step = 0;
      while (e < 40) {
        const n = Math.min(1 + s.accepted(q, e), 40 - e);
        for (let k = 0; k < n; k++) expect(times[e + k]).toBe(10 + 4 * (step + 1));
        e += n;
        step++;
      }
    }
  });

  it("the token budget counts the drafts of every generation request", async () => {
    const p = new Recorder();
    const spec = { kind: "mtp" as const, maxDraftLen: 3, acceptanceRates: [0, 0, 0], seed: 0 };
    // 16-token prompts, budget 20: one context request, or 1 context + 1 generation (16 + 4).
    await runSimulation(new Simulation(options({ speculative: spec, maxNumTokens: 20 }), reqs(3, 2)), new DraftTokensPredictor(p, 3));
    expect(p.drafts.map((d) => d.length)).toEqual([1, 2, 2, 1]);
  });

  it("attention DP ranks carry the drafts too", async () => {
    const p = new Recorder();
    const spec = { kind: "mtp" as const, maxDraftLen: 2, acceptanceRates: [1, 1], seed: 0 };
    const r = await runAttentionDp(options({ speculative: spec, attentionDpRanks: 2 }), reqs(2, 7), p);
    expect(p.drafts).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    expect(r.requests.map((q) => q.endMs)).toEqual([18, 18]);
  });
});
