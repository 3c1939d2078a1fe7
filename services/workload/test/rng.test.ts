import { correctlyRoundedLog, NumpyLegacyRandom } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { Pcg64 } from "../src/rng/pcg64.js";
import { PythonRandom } from "../src/rng/pythonRandom.js";

// Expected values produced with NumPy 1.24.2 / 2.4.6 and CPython 3.11 (see fixtures/make_reference_datasets.py).
describe("NumPy legacy np.random (MT19937 + polar Gaussian)", () => {
  it("np.random.seed(420); np.random.normal(0, 1, 6)", () => {
    expect(Array.from(new NumpyLegacyRandom(420).normal(0, 1, 6))).toEqual([
      -0.4853908523624454, -1.9051538460676845, -0.5262217970039536, -0.31354601941980653, 0.3307064945401761, 0.9385372454038932,
    ]);
  });

  it("np.random.seed(0); np.random.normal(0, 1, 3)", () => {
    expect(Array.from(new NumpyLegacyRandom(0).normal(0, 1, 3))).toEqual([1.764052345967664, 0.4001572083672233, 0.9787379841057392]);
  });

  it("stays bit-exact over 20000 draws", () => {
    const z = new NumpyLegacyRandom(420).normal(0, 1, 20000);
    let sum = 0;
    for (const v of z) sum += v;
    expect(sum).toBe(-48.17368642574696);
    expect(z[12345]).toBe(-0.3884835020015021);
    expect(z[19999]).toBe(0.26065921980590023);
  });
});

describe("NumPy default_rng (SeedSequence + PCG64) integers", () => {
  it("default_rng(420).integers(1, 101, 10)", () => {
    expect(Array.from(new Pcg64(420).integers(1, 101, 10))).toEqual([62, 78, 13, 95, 88, 99, 2, 42, 39, 65]);
  });

  it("default_rng(420).integers(1, 1000001, 5)", () => {
    expect(Array.from(new Pcg64(420).integers(1, 1000001, 5))).toEqual([618934, 777427, 121158, 944734, 878377]);
  });

  it("a two-word seed and a near-2^32 range", () => {
    expect(Array.from(new Pcg64(2 ** 40 + 5).integers(0, 2 ** 32 - 1, 6))).toEqual([60812778, 20355822, 1932608277, 1600238595, 3933126262, 2522131181]);
  });

  it("default_rng(0).integers(5, 7, 8) and a 20000-draw checksum", () => {
    expect(Array.from(new Pcg64(0).integers(5, 7, 8))).toEqual([6, 6, 6, 5, 5, 5, 5, 5]);
    const x = new Pcg64(420).integers(1, 4097, 20000);
    let sum = 0;
    let weighted = 0;
    x.forEach((v, i) => {
      sum += v;
      weighted = (weighted + i * v) % 1000000007;
    });
    expect([sum, weighted]).toEqual([40718764, 78678836]);
  });
});

describe("CPython random", () => {
  it("random.seed(420); sample(range(128256), 5); random(); choices(range(10), k=5)", () => {
    const r = new PythonRandom(420);
    expect(Array.from(r.sampleRange(128256, 5))).toEqual([3452, 88226, 102415, 47775, 35731]);
    expect(r.random()).toBe(0.4026877291172176);
    expect(Array.from(r.choicesRange(10, 5))).toEqual([7, 6, 1, 5, 4]);
  });
});

describe("correctlyRoundedLog", () => {
  it("rounds correctly where V8's Math.log is one ulp off (checked with Python Decimal.ln)", () => {
    const cases: [number, number][] = [
      [0.3740828271899197, -0.9832780430122802],
      [1.0949428677211648e-8, -18.329978557642203],
      [0.0537517467926805, -2.923379114033954],
      [0.31524480309537295, -1.1544057892995603],
    ];
    for (const [x, expected] of cases) expect(correctlyRoundedLog(x)).toBe(expected);
    expect(correctlyRoundedLog(1)).toBe(0);
    expect(correctlyRoundedLog(0.5)).toBe(-Math.LN2);
    expect(correctlyRoundedLog(Math.E)).toBe(1);
  });
});
