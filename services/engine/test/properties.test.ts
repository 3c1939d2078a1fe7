import { caseArb as anyCaseArb, pressureArb as anyPressureArb, type Case, expectRunInvariants, plain, run } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const caseArb = anyCaseArb();
const pressureArb = anyPressureArb();

/** The invariants every run must satisfy. */
function checkRun(c: Case): void {
  const { result, iterations } = run(c);
  expectRunInvariants(c, result, iterations);
  result.requests.forEach((r, i) => {
    if (r.error !== undefined) return;
    const q = c.requests[i]!;
    expect(r.firstTokenMs).toBe(r.tokenTimesMs[0]);
    expect(r.endMs).toBe(r.tokenTimesMs[q.outputTokens - 1]);
  });
  for (const s of iterations) expect(s.inflightBatchingStats.numScheduledRequests).toBeLessThanOrEqual(c.opts.maxBatchSize);
  // Everything is freed at the end.
  if (iterations.length > 0) expect(iterations.at(-1)!.kvCacheStats.usedNumBlocks).toBe(0);
}

describe("engine properties over random workloads and configurations", () => {
  it("every request finishes with exactly its output tokens or fails alone; budgets, KV capacity and clock hold", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        checkRun(c);
      }),
      { numRuns: 400 },
    );
  });

  it("the same holds under KV memory pressure (pauses, re-prefills, prefix sharing)", () => {
    fc.assert(
      fc.property(pressureArb, (c) => {
        checkRun(c);
      }),
      { numRuns: 300 },
    );
  });

  it("a run is deterministic for a seed and a configuration", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(plain(run(c, false).result)).toEqual(plain(run(c, false).result));
      }),
      { numRuns: 100 },
    );
  });

  it("without token ids, block reuse changes nothing but the miss counter", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const requests = c.requests.map(({ taskId, inputLength, outputTokens }) => ({ taskId, inputLength, outputTokens }));
        const on = plain(run({ opts: { ...c.opts, enableBlockReuse: true }, requests }, false).result);
        const off = plain(run({ opts: { ...c.opts, enableBlockReuse: false }, requests }, false).result);
        expect({ ...on, missedBlocks: 0 }).toEqual(off);
      }),
      { numRuns: 100 },
    );
  });
});
