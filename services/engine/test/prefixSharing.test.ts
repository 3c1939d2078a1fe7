import { promptBlocks } from "@servesim/core";
import { arrivalsArb, type Case, caseArb, plain, scenarioArb } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Simulation } from "../src/simulation.js";
import type { IterationStats } from "../src/types.js";

/** Runs a case with or without keying every prompt block; batch times depend on the batch. */
function runCase(c: Case, trackEveryPrefix: boolean, overlap = false) {
  const iterations: IterationStats[] = [];
  const sim = new Simulation({ ...c.opts, ...(overlap ? { overlap: true } : {}) }, c.requests, {
    ...(c.warmup ? { warmup: c.warmup } : {}),
    onIteration: (s) => iterations.push(s),
    trackEveryPrefix,
  });
  for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) sim.commit(1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1 + b.numContext * 0.37);
  return { result: plain(sim.result()), iterations };
}

describe("requests no other request shares a first block with are left untracked (untrackUnsharedPrefixes)", () => {
  it("gives the same records, iteration stats and KV counters as keying every block", () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        expect(runCase(c, false)).toEqual(runCase(c, true));
      }),
      { numRuns: 400 },
    );
  });

  it("with warm-up requests (copies share their prefixes) and the overlap scheduler", () => {
    fc.assert(
      fc.property(scenarioArb({ maxRequests: 24, maxOutputTokens: 40, arrivals: arrivalsArb }), fc.boolean(), (c, overlap) => {
        expect(runCase(c, false, overlap)).toEqual(runCase(c, true, overlap));
      }),
      { numRuns: 250 },
    );
  });

  it("the same with prompts carried as block keys (a dataset read without its token ids)", () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        const asBlocks = (r: Case["requests"][number]) => {
          if (r.inputIds === undefined) return r;
          const { inputIds, ...rest } = r;
          return { ...rest, blocks: promptBlocks(inputIds, c.opts.tokensPerBlock) };
        };
        const b: Case = { ...c, requests: c.requests.map(asBlocks) };
        expect(runCase(b, false)).toEqual(runCase(b, true));
        expect(runCase(b, false)).toEqual(runCase(c, true));
      }),
      { numRuns: 300 },
    );
  });

  it("a prompt matched only by a warm-up copy of itself still hits the cache", () => {
    const ids = (base: number) => Array.from({ length: 64 }, (_, k) => base + k);
    const requests = [0, 1, 2].map((i) => ({ taskId: i, inputLength: 64, outputTokens: 4, inputIds: ids(1000 * i) }));
    const opts = {
      maxBatchSize: 4,
      maxNumTokens: 4096,
      maxSeqLen: 1 << 20,
      ppSize: 1,
      capacityPolicy: "guaranteed_no_evict" as const,
      chunking: null,
      tokensPerBlock: 16,
      numBlocks: 1000,
      enableBlockReuse: true,
      arrivals: { kind: "all_at_once" as const },
    };
    const sim = new Simulation(opts, requests, { warmup: [requests[1]!] });
    for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) sim.commit(1);
    expect(sim.result().requests.map((r) => r.reusedTokens)).toEqual([0, 48, 0]);
  });
});
