import type { SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { PredictStreamRequest } from "../gen/ts/servesim/v1/predictor.js";
import { encodeBatch, serializeBatchRequest } from "../src/wireBatch.js";

/** What ts-proto writes for the same request: serializeBatchRequest must give these bytes exactly. */
function reference(batch: SimBatch, sequence: number): Buffer {
  const message = { config: undefined, batch: encodeBatch(batch), decodeRun: undefined, sequence, includeBreakdown: false };
  return Buffer.from(PredictStreamRequest.encode(message).finish());
}

/** A small deterministic generator (no Math.random in tests). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VARINT_EDGES = [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 0xffff_ffff];

function batchOf(numContext: number, numGeneration: number, next: () => number): SimBatch {
  const n = numContext + numGeneration;
  const value = () => (next() < 0.3 ? VARINT_EDGES[Math.floor(next() * VARINT_EDGES.length)]! : Math.floor(next() * 5000));
  const inputLength = new Int32Array(n).fill(1);
  const pastKvLength = new Array<number>(n);
  let numContextTokens = 0;
  for (let i = 0; i < n; i++) {
    if (i < numContext) {
      inputLength[i] = 1 + Math.floor(next() * 8192);
      numContextTokens += inputLength[i]!;
    }
    pastKvLength[i] = value();
  }
  return { numContext, numGeneration, inputLength, pastKvLength, numContextTokens };
}

describe("serializeBatchRequest", () => {
  it("writes exactly ts-proto's bytes, packed and entries forms, at every varint width", () => {
    const next = lcg(7);
    const shapes: Array<[number, number]> = [
      [1, 0],
      [0, 1],
      [3, 13],
      [0, 16],
      [0, 17],
      [17, 0],
      [8, 504],
      [0, 512],
      [40, 2000],
    ];
    for (const [nc, ng] of shapes) {
      for (const sequence of [0, 1, 127, 128, 1_000_000, 0xffff_ffff]) {
        const batch = batchOf(nc, ng, next);
        expect(serializeBatchRequest(batch, sequence).equals(reference(batch, sequence))).toBe(true);
      }
    }
  });

  it("falls back to ts-proto for values beyond uint32 (same bytes)", () => {
    const batch: SimBatch = {
      numContext: 20,
      numGeneration: 0,
      inputLength: new Array<number>(20).fill(0x8000_0000),
      pastKvLength: new Array<number>(20).fill(5),
      numContextTokens: 20 * 0x8000_0000,
    };
    expect(serializeBatchRequest(batch, 3).equals(reference(batch, 3))).toBe(true);
    expect(serializeBatchRequest(batch, 2 ** 40).equals(reference(batch, 2 ** 40))).toBe(true);
  });

  it("decodes to the batch it was given", () => {
    const batch = batchOf(5, 60, lcg(11));
    const decoded = PredictStreamRequest.decode(serializeBatchRequest(batch, 42));
    expect(decoded.sequence).toBe(42);
    expect(decoded.batch?.packed?.pastKvLength).toEqual(Array.from(batch.pastKvLength));
    expect(decoded.batch?.packed?.inputLength).toEqual(Array.from(batch.inputLength));
    expect(decoded.batch?.numContextTokens).toBe(batch.numContextTokens);
  });
});
