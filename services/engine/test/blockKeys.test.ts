import { promptBlocks } from "@servesim/core";
import { arrivalsArb, type Case, caseArb, options, plain, pressureArb, req, run, scenarioArb } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Simulation } from "../src/simulation.js";
import type { SimRequest } from "../src/types.js";

/** The same requests carrying block keys computed from their ids instead of the ids. */
function withKeys(requests: readonly SimRequest[], tokensPerBlock: number): SimRequest[] {
  return requests.map(({ inputIds, ...q }) => (inputIds === undefined ? q : { ...q, blocks: promptBlocks(inputIds, tokensPerBlock) }));
}

const keyed = (c: Case): Case => ({
  opts: c.opts,
  requests: withKeys(c.requests, c.opts.tokensPerBlock),
  ...(c.warmup ? { warmup: withKeys(c.warmup, c.opts.tokensPerBlock) } : {}),
});

function sameRun(c: Case): void {
  const a = run(c, false);
  const b = run(keyed(c), false);
  expect(plain(b.result)).toEqual(plain(a.result));
  expect(b.iterations).toEqual(a.iterations);
}

describe("block keys read with the dataset replace token ids exactly", () => {
  it("random workloads and configurations: identical records and iteration stats", () => {
    fc.assert(fc.property(caseArb(), sameRun), { numRuns: 200 });
  });

  it("under KV pressure (pauses fold generated tokens into re-prefilled prompts)", () => {
    fc.assert(fc.property(pressureArb(), sameRun), { numRuns: 200 });
  });

  it("with warm-up requests (their cache is kept for the measured run)", () => {
    fc.assert(fc.property(scenarioArb({ maxRequests: 16, maxOutputTokens: 16, arrivals: arrivalsArb }), sameRun), { numRuns: 100 });
  });

  it("a shared prefix is reused from keys alone: 64 of 96 prompt tokens", () => {
    const ids = (tail: number) => [...Array.from({ length: 64 }, (_, k) => k), ...Array.from({ length: 32 }, (_, k) => tail + k)];
    const requests = withKeys([req(0, 96, 4, ids(1000)), req(1, 96, 4, ids(2000))], 32);
    const sim = new Simulation(options({ enableBlockReuse: true, arrivals: { kind: "concurrency", concurrency: 1 } }), requests);
    for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) sim.commit(1);
    expect(sim.result().requests.map((r) => r.reusedTokens)).toEqual([0, 64]);
  });

  it("keys for another block size are rejected", () => {
    const requests = withKeys(
      [
        req(
          0,
          96,
          4,
          Array.from({ length: 96 }, (_, k) => k),
        ),
      ],
      16,
    );
    expect(() => new Simulation(options({ enableBlockReuse: true }), requests)).toThrow(/requests\[0\]\.blocks.*tokensPerBlock 32/);
  });
});
