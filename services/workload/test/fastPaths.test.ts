import { MT19937, NumpyLegacyRandom } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { generateLengths, generateTokenIds, TokenIdSampler } from "../src/generator.js";
import { PythonRandom } from "../src/rng/pythonRandom.js";
import { syntheticDataset } from "../src/synthetic.js";

/** CPython's `random.sample(range(n), k)`, set branch, transcribed with a Set over a raw MT19937 stream. */
function referenceSample(mt: MT19937, n: number, k: number): number[] {
  const bits = 32 - Math.clz32(n);
  const randbelow = (): number => {
    let r = mt.nextUint32() >>> (32 - bits);
    while (r >= n) r = mt.nextUint32() >>> (32 - bits);
    return r;
  };
  const selected = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    let j = randbelow();
    while (selected.has(j)) j = randbelow();
    selected.add(j);
    out.push(j);
  }
  return out;
}

/** The pool branch is taken when n ≤ 21 + 4^ceil(log4(3k)) (k > 5); these stay on the set branch. */
const setBranchCases: [number, number][] = [
  [128256, 1000],
  [128256, 128],
  [128256, 5],
  [32000, 3000],
  [1045 + 1, 128], // just above the pool threshold for k = 128
  [1 << 16, 700],
  [(1 << 16) + 1, 700],
  [97, 3],
  [70, 1],
];

describe("PythonRandom.sampleRange's bitset (identical to CPython's set)", () => {
  it("consecutive calls on one generator match the reference stream", () => {
    for (const [n, k] of setBranchCases) {
      const r = new PythonRandom(420);
      const mt = MT19937.fromKey([420]);
      for (let call = 0; call < 40; call++) expect(Array.from(r.sampleRange(n, k))).toEqual(referenceSample(mt, n, k));
    }
  });

  it("alternating populations reuse the bitset correctly", () => {
    const r = new PythonRandom(7);
    const mt = MT19937.fromKey([7]);
    for (let call = 0; call < 60; call++) {
      const [n, k] = setBranchCases[call % setBranchCases.length]!;
      expect(Array.from(r.sampleRange(n, k))).toEqual(referenceSample(mt, n, k));
    }
  });

  it("a population beyond the bitset limit (2^24) keeps the Set and the same stream", () => {
    const r = new PythonRandom(3);
    const mt = MT19937.fromKey([3]);
    for (const n of [2 ** 24 + 1, 2 ** 32 - 1]) expect(Array.from(r.sampleRange(n, 50))).toEqual(referenceSample(mt, n, 50));
  });
});

describe("token-norm-dist lengths with stdev 0 skip the Gaussians", () => {
  it("equal max(1, ceil(normal(mean, 0))) for any mean", () => {
    for (const mean of [1000, 128, 0.5, 1e-9, 0, -0, -3, 7.000000001, 2 ** 31 - 1]) {
      const { inputLengths, outputLengths } = generateLengths({
        kind: "token-norm-dist",
        numRequests: 300,
        inputMean: mean,
        inputStdev: 0,
        outputMean: mean,
        outputStdev: 5,
        seed: 11,
      });
      const z = new NumpyLegacyRandom(11).normal(mean, 0, 300);
      // Int32Array.from: the same int32 conversion as the generator's (a 2^31 length wraps in both).
      expect(inputLengths).toEqual(Int32Array.from(z, (v) => Math.max(1, Math.ceil(v))));
      const o = new NumpyLegacyRandom(11).normal(mean, 5, 300);
      expect(outputLengths).toEqual(Int32Array.from(o, (v) => Math.max(1, Math.ceil(v))));
    }
  });
});

describe("token ids written into shared slabs", () => {
  it("TokenIdSampler into a longer scratch array gives generateTokenIds' arrays", () => {
    const lengths = [5, 300, 1, 40, 2000, 999];
    const options = { seed: 9, vocabSize: 1000, eosId: 3 };
    const fresh = [...generateTokenIds(lengths, options)].map((a) => Array.from(a));
    const sampler = new TokenIdSampler(options);
    const scratch = new Uint32Array(4000);
    expect(lengths.map((n) => Array.from(sampler.next(n, scratch)))).toEqual(fresh);
  });

  it("syntheticDataset across slab boundaries and with an own-buffer request", () => {
    // 4500 × ~4000 ids cross the 2^24-element slab; isl ≥ vocab takes random.choices.
    const spec = {
      kind: "token-norm-dist",
      numRequests: 4500,
      inputMean: 4000,
      inputStdev: 900,
      outputMean: 8,
      outputStdev: 0,
      seed: 5,
      vocabSize: 3000,
      eosId: 0,
    } as const;
    const ds = syntheticDataset(spec);
    const { inputLengths } = generateLengths(spec);
    const buffers = new Set(ds.requests.map((q) => (q.inputIds as Uint32Array).buffer));
    expect(buffers.size).toBeGreaterThan(1);
    let i = 0;
    for (const ids of generateTokenIds(inputLengths, spec)) {
      const got = ds.requests[i++]!.inputIds as Uint32Array;
      expect(got.length).toBe(ids.length);
      if (!got.every((v, k) => v === ids[k])) expect.fail(`request ${i - 1}: ids differ`);
    }
    const long = syntheticDataset({
      kind: "token-unif-dist",
      numRequests: 2,
      inputMin: 4_200_000,
      inputMax: 4_200_000,
      outputMin: 1,
      outputMax: 1,
      vocabSize: 50,
    });
    const [a, b] = [...generateTokenIds([4_200_000, 4_200_000], { vocabSize: 50 })];
    for (const [got, want] of [
      [long.requests[0]!.inputIds as Uint32Array, a!],
      [long.requests[1]!.inputIds as Uint32Array, b!],
    ] as const) {
      expect(got.length).toBe(want.length);
      expect(got.buffer.byteLength).toBe(want.length * 4);
      expect(got.every((v, k) => v === want[k])).toBe(true);
    }
  });
});
