import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError, NumpyLegacyRandom } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { parseDatasetText } from "../src/dataset.js";
import { datasetJsonlLines, generateLengths, generateTokenIds, type SyntheticSpec, writeDatasetFile } from "../src/generator.js";
import { syntheticDataset } from "../src/synthetic.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
const stdev = (xs: ArrayLike<number>): number => {
  const m = mean(xs);
  return Math.sqrt(Array.from(xs).reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

// Reference files written by fixtures/make_reference_datasets.py (TensorRT-LLM's prepare_dataset logic, NumPy + CPython).
const references: [string, SyntheticSpec][] = [
  [
    "norm_n40_i128x32_o64x16_seed420_v32000_eos2.jsonl",
    { kind: "token-norm-dist", numRequests: 40, inputMean: 128, inputStdev: 32, outputMean: 64, outputStdev: 16, seed: 420, vocabSize: 32000, eosId: 2 },
  ],
  [
    "unif_n30_i10-50_o1-8_seed7_v1000_eos0.jsonl",
    { kind: "token-unif-dist", numRequests: 30, inputMin: 10, inputMax: 50, outputMin: 1, outputMax: 8, seed: 7, vocabSize: 1000, eosId: 0 },
  ],
  [
    "norm_n12_i48x12_o4x40_seed3_v48_eos47.jsonl",
    { kind: "token-norm-dist", numRequests: 12, inputMean: 48, inputStdev: 12, outputMean: 4, outputStdev: 40, seed: 3, vocabSize: 48, eosId: 47 },
  ],
];

describe("prepare-dataset reproduces TensorRT-LLM's generator byte for byte", () => {
  for (const [file, spec] of references) {
    it(file, () => {
      expect(`${[...datasetJsonlLines(spec)].join("\n")}\n`).toBe(fixture(file));
    });
  }

  it("writeDatasetFile streams the same bytes", async () => {
    const [file, spec] = references[0]!;
    const out = join(mkdtempSync(join(tmpdir(), "servesim-gen-")), "d.jsonl");
    expect(await writeDatasetFile(spec, out)).toBe(40);
    expect(readFileSync(out, "utf8")).toBe(fixture(file));
  });

  it("token-norm-dist lengths match NumPy for N = 20000 (checksums from NumPy)", () => {
    const { inputLengths } = generateLengths({
      kind: "token-norm-dist",
      numRequests: 20000,
      inputMean: 1000,
      inputStdev: 300,
      outputMean: 1,
      outputStdev: 0,
      seed: 12345,
    });
    let sum = 0;
    let weighted = 0;
    inputLengths.forEach((l, i) => {
      sum += l;
      weighted = (weighted + i * l) % 1000000007;
    });
    expect([sum, weighted]).toEqual([19980341, 950241078]);
  });
});

describe("token-norm-dist", () => {
  const spec: SyntheticSpec = { kind: "token-norm-dist", numRequests: 4000, inputMean: 1000, inputStdev: 200, outputMean: 300, outputStdev: 50 };

  it("has the requested mean and stdev (seed 420)", () => {
    const { inputLengths, outputLengths } = generateLengths(spec);
    expect(Math.abs(mean(inputLengths) - 1000)).toBeLessThan(10);
    expect(Math.abs(stdev(inputLengths) - 200)).toBeLessThan(8);
    expect(Math.abs(mean(outputLengths) - 300)).toBeLessThan(3);
    expect(Math.abs(stdev(outputLengths) - 50)).toBeLessThan(2);
  });

  it("input and output share the same z sequence (reseeded), so their ranks agree exactly", () => {
    const { inputLengths, outputLengths } = generateLengths(spec);
    const z = new NumpyLegacyRandom(420).normal(0, 1, spec.numRequests);
    expect(Array.from(inputLengths)).toEqual(Array.from(z, (v) => Math.max(1, Math.ceil(1000 + 200 * v))));
    expect(Array.from(outputLengths)).toEqual(Array.from(z, (v) => Math.max(1, Math.ceil(300 + 50 * v))));
    const order = Array.from(z.keys()).sort((a, b) => z[a]! - z[b]!);
    const nonDecreasing = (xs: Int32Array): boolean => order.every((i, k) => k === 0 || xs[i]! >= xs[order[k - 1]!]!);
    expect(nonDecreasing(inputLengths)).toBe(true);
    expect(nonDecreasing(outputLengths)).toBe(true);
  });

  it("stdev 0 gives exactly ceil(mean); lengths never drop below 1", () => {
    const { inputLengths, outputLengths } = generateLengths({
      kind: "token-norm-dist",
      numRequests: 50,
      inputMean: 128,
      inputStdev: 0,
      outputMean: 20.5,
      outputStdev: 0,
    });
    expect(new Set(inputLengths)).toEqual(new Set([128]));
    expect(new Set(outputLengths)).toEqual(new Set([21]));
    const low = generateLengths({ kind: "token-norm-dist", numRequests: 200, inputMean: 1, inputStdev: 5, outputMean: -10, outputStdev: 1 });
    expect(Math.min(...low.inputLengths)).toBe(1);
    expect(new Set(low.outputLengths)).toEqual(new Set([1]));
  });

  it("is deterministic for a seed and changes with it", () => {
    const a = [...datasetJsonlLines({ ...spec, numRequests: 20, vocabSize: 1000 })];
    const b = [...datasetJsonlLines({ ...spec, numRequests: 20, vocabSize: 1000 })];
    const c = [...datasetJsonlLines({ ...spec, numRequests: 20, vocabSize: 1000, seed: 421 })];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe("token-unif-dist", () => {
  it("bounds are inclusive", () => {
    const { inputLengths, outputLengths } = generateLengths({
      kind: "token-unif-dist",
      numRequests: 2000,
      inputMin: 3,
      inputMax: 6,
      outputMin: 7,
      outputMax: 7,
    });
    expect(new Set(inputLengths)).toEqual(new Set([3, 4, 5, 6]));
    expect(new Set(outputLengths)).toEqual(new Set([7]));
  });
});

describe("token ids", () => {
  it("have no repeats when isl < vocab (sample), may repeat otherwise (choices), stay in the vocabulary", () => {
    const all = [...generateTokenIds([5, 99, 100, 250], { vocabSize: 100, seed: 1 })];
    expect(all.map((ids) => ids.length)).toEqual([5, 99, 100, 250]);
    expect(new Set(all[0]).size).toBe(5);
    expect(new Set(all[1]).size).toBe(99);
    expect(new Set(all[3]).size).toBeLessThan(100);
    expect(all.every((ids) => ids.every((id) => id < 100))).toBe(true);
  });

  it("never contain EOS", () => {
    const all = [...generateTokenIds([5, 99, 100, 250], { vocabSize: 100, eosId: 7, seed: 1 })];
    expect(all.some((ids) => ids.includes(8))).toBe(true);
    expect(all.every((ids) => !ids.includes(7))).toBe(true);
  });

  it("EOS ids become (eos + 1) % vocab", () => {
    const plain = [...generateTokenIds([40], { vocabSize: 40, seed: 9 })][0]!;
    const eos = plain[3]!;
    const replaced = [...generateTokenIds([40], { vocabSize: 40, seed: 9, eosId: eos })][0]!;
    expect(replaced[3]).toBe((eos + 1) % 40);
    expect(Array.from(replaced).filter((v, i) => v !== plain[i])).toEqual([(eos + 1) % 40]);
  });
});

describe("syntheticDataset", () => {
  const spec: SyntheticSpec = {
    kind: "token-norm-dist",
    numRequests: 25,
    inputMean: 64,
    inputStdev: 16,
    outputMean: 32,
    outputStdev: 8,
    vocabSize: 5000,
    eosId: 1,
  };

  it("equals parsing the generated JSONL", () => {
    const direct = syntheticDataset(spec, { datasetPath: "synthetic" });
    const parsed = parseDatasetText([...datasetJsonlLines(spec)].join("\n"), { datasetPath: "synthetic" });
    expect(direct.requests).toEqual(parsed.requests);
    expect(direct.metadata).toEqual(parsed.metadata);
  });

  it("can skip token ids", () => {
    const d = syntheticDataset(spec, { includeInputIds: false });
    expect(d.requests.every((r) => r.inputIds === undefined)).toBe(true);
    expect(d.requests.map((r) => r.inputLength)).toEqual(Array.from(generateLengths(spec).inputLengths));
    expect(d.metadata.datasetPath).toBeNull();
  });
});

describe("spec validation", () => {
  const bad: [SyntheticSpec, string][] = [
    [{ kind: "token-norm-dist", numRequests: 0, inputMean: 1, inputStdev: 1, outputMean: 1, outputStdev: 1 }, "numRequests"],
    [{ kind: "token-norm-dist", numRequests: 1, inputMean: 1, inputStdev: -1, outputMean: 1, outputStdev: 1 }, "inputStdev"],
    [{ kind: "token-unif-dist", numRequests: 1, inputMin: 5, inputMax: 4, outputMin: 1, outputMax: 1 }, "inputMax"],
    [{ kind: "token-unif-dist", numRequests: 1, inputMin: 0, inputMax: 4, outputMin: 1, outputMax: 1 }, "inputMin"],
    [{ kind: "token-unif-dist", numRequests: 1, inputMin: 1, inputMax: 4, outputMin: 1, outputMax: 1, seed: -1 }, "seed"],
    [{ kind: "token-unif-dist", numRequests: 1, inputMin: 1, inputMax: 4, outputMin: 1, outputMax: 1, vocabSize: 10, eosId: 10 }, "eosId"],
  ];
  for (const [spec, field] of bad) {
    it(`rejects a bad ${field}`, () => {
      expect(() => generateLengths(spec)).toThrow(InvalidArgumentError);
      try {
        generateLengths(spec);
      } catch (e) {
        expect((e as InvalidArgumentError).field).toBe(field);
      }
    });
  }
});
