import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyIndex } from "../src/keyIndex.js";

describe("KeyIndex (the prefix cache's key → node table)", () => {
  it("behaves like a Map under random set / delete / get, across growth and probe-chain deletions", () => {
    // Few distinct keys with shared low bits force collisions and long probe chains.
    const keyArb = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((k) => k * 1024),
      fc.integer({ min: 0, max: 2 ** 21 - 1 }).map((hi) => hi * 4294967296 + 77),
      fc.double({ min: 0, max: 2 ** 53 - 1, noNaN: true }).map(Math.floor),
    );
    const opArb = fc.oneof(
      fc.record({ op: fc.constant("set" as const), key: keyArb, value: fc.integer({ min: 0, max: 1 << 30 }) }),
      fc.record({ op: fc.constant("delete" as const), key: keyArb }),
      fc.record({ op: fc.constant("get" as const), key: keyArb }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const index = new KeyIndex(4);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === "set") {
            index.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === "delete") {
            index.delete(o.key);
            model.delete(o.key);
          }
          expect(index.get(o.key)).toBe(model.get(o.key) ?? -1);
          expect(index.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(index.get(k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });
});
