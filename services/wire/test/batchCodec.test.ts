import { InvalidArgumentError, makeBatch, type SimBatch, snapshotBatch } from "@servesim/core";
import { ctx, gen, wireBatch } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Phase, type SimBatch as WireSimBatch } from "../gen/ts/servesim/v1/predictor.js";
import { decodeDecodeRun, decodeRunBatches, decodeSimBatch, encodeDecodeRun, encodeSimBatch } from "../src/batchCodec.js";

const limits = { maxEntries: 8, maxSteps: 100 };

function fieldError(fn: () => unknown): { field: string; reason: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const e = err as InvalidArgumentError;
    return { field: e.field, reason: e.reason };
  }
  throw new Error("expected an InvalidArgumentError");
}

const packed = (isContext: boolean[], inputLength: number[], pastKvLength: number[], totals?: Partial<WireSimBatch>): WireSimBatch => {
  const n = isContext.length;
  let ct = 0;
  let gt = 0;
  for (let i = 0; i < n; i++) isContext[i] ? (ct += inputLength[i] ?? 0) : (gt += inputLength[i] ?? 0);
  return {
    entries: [],
    packed: { isContext, inputLength, pastKvLength },
    numContextRequests: isContext.filter(Boolean).length,
    numContextTokens: ct,
    numGenerationRequests: isContext.filter((c) => !c).length,
    numGenerationTokens: gt,
    ...totals,
  };
};

describe("decodeSimBatch", () => {
  it("decodes entries and puts context entries first, keeping their order", () => {
    const b = decodeSimBatch(wireBatch([gen(7), ctx(4, 0), gen(9), ctx(3, 32)]), limits);
    expect(snapshotBatch(b)).toEqual({
      isContext: [true, true, false, false],
      inputLength: [4, 3, 1, 1],
      pastKvLength: [0, 32, 7, 9],
      numContextTokens: 7,
    });
    expect(b.numContext).toBe(2);
    expect(b.numGeneration).toBe(2);
  });

  it("decodes the packed form", () => {
    const b = decodeSimBatch(packed([false, true], [1, 16], [100, 0]), limits);
    expect(snapshotBatch(b)).toEqual({ isContext: [true, false], inputLength: [16, 1], pastKvLength: [0, 100], numContextTokens: 16 });
  });

  it("accepts a one-token context chunk (told apart from decode by the phase)", () => {
    const b = decodeSimBatch(wireBatch([ctx(1, 63)]), limits);
    expect(b.numContext).toBe(1);
    expect(b.numContextTokens).toBe(1);
  });

  const bad: Array<[string, () => unknown, string, RegExp]> = [
    ["missing batch", () => decodeSimBatch(undefined, limits), "batch", /required/],
    ["empty batch", () => decodeSimBatch(wireBatch([]), limits), "batch", /empty/],
    ["empty packed batch", () => decodeSimBatch(packed([], [], []), limits), "batch", /empty/],
    [
      "unspecified phase",
      () => decodeSimBatch(wireBatch([ctx(4), { phase: Phase.PHASE_UNSPECIFIED, inputLength: 1, pastKvLength: 0 }]), limits),
      "batch.entries[1].phase",
      /unspecified/,
    ],
    [
      "unknown phase",
      () => decodeSimBatch(wireBatch([{ phase: 7 as Phase, inputLength: 1, pastKvLength: 0 }]), limits),
      "batch.entries[0].phase",
      /unknown \(7\)/,
    ],
    ["negative input_length", () => decodeSimBatch(wireBatch([ctx(-3)]), limits), "batch.entries[0].input_length", />= 0/],
    ["fractional input_length", () => decodeSimBatch(wireBatch([ctx(2.5)]), limits), "batch.entries[0].input_length", /integer/],
    ["NaN past_kv_length", () => decodeSimBatch(wireBatch([gen(Number.NaN)]), limits), "batch.entries[0].past_kv_length", /finite/],
    ["infinite past_kv_length", () => decodeSimBatch(wireBatch([gen(Infinity)]), limits), "batch.entries[0].past_kv_length", /finite/],
    ["past_kv_length over uint32", () => decodeSimBatch(wireBatch([gen(2 ** 32)]), limits), "batch.entries[0].past_kv_length", /uint32/],
    [
      "generation input_length 2",
      () => decodeSimBatch(wireBatch([ctx(3), { phase: Phase.PHASE_GENERATION, inputLength: 2, pastKvLength: 5 }]), limits),
      "batch.entries[1].input_length",
      /must be 1 for a generation entry/,
    ],
    ["context input_length 0", () => decodeSimBatch(wireBatch([ctx(0, 5)]), limits), "batch.entries[0].input_length", />= 1 for a context entry/],
    [
      "num_context_requests off",
      () => decodeSimBatch({ ...wireBatch([ctx(3), gen(1)]), numContextRequests: 2 }, limits),
      "batch.num_context_requests",
      /is 2 but the batch has context entries: 1/,
    ],
    [
      "num_context_tokens off",
      () => decodeSimBatch({ ...wireBatch([ctx(3), ctx(4)]), numContextTokens: 8 }, limits),
      "batch.num_context_tokens",
      /is 8 but .* sums to 7/,
    ],
    [
      "num_generation_requests off",
      () => decodeSimBatch({ ...wireBatch([gen(3)]), numGenerationRequests: 0 }, limits),
      "batch.num_generation_requests",
      /is 0/,
    ],
    [
      "num_generation_tokens off",
      () => decodeSimBatch({ ...wireBatch([gen(3), gen(4)]), numGenerationTokens: 1 }, limits),
      "batch.num_generation_tokens",
      /is 1 but .* sums to 2/,
    ],
    [
      "entries and packed both set",
      () => decodeSimBatch({ ...wireBatch([ctx(3)]), packed: { isContext: [true], inputLength: [3], pastKvLength: [0] } }, limits),
      "batch",
      /both set/,
    ],
    ["packed arrays of different lengths", () => decodeSimBatch(packed([true, false], [3, 1], [0]), limits), "batch.packed", /same length \(got 2, 2, 1\)/],
    ["packed generation input_length 0", () => decodeSimBatch(packed([true, false], [3, 0], [0, 9]), limits), "batch.packed.input_length[1]", /must be 1/],
    [
      "over the size limit",
      () => decodeSimBatch(wireBatch(Array.from({ length: 9 }, (_, i) => gen(i))), limits),
      "batch",
      /9 entries, more than the limit of 8/,
    ],
  ];
  it.each(bad)("rejects %s", (_name, fn, field, reason) => {
    const e = fieldError(fn);
    expect(e.field).toBe(field);
    expect(e.reason).toMatch(reason);
  });

  it("prefixes fields with the caller's path", () => {
    expect(fieldError(() => decodeSimBatch(wireBatch([ctx(0)]), limits, "message[3].batch")).field).toBe("message[3].batch.entries[0].input_length");
  });
});

describe("encodeSimBatch", () => {
  const engineBatch = makeBatch([
    { context: false, inputLength: 1, pastKvLength: 40 },
    { context: true, inputLength: 12, pastKvLength: 0 },
    { context: true, inputLength: 5, pastKvLength: 64 },
  ]);

  it("encodes the packed form with totals", () => {
    expect(encodeSimBatch(engineBatch)).toEqual({
      entries: [],
      packed: { isContext: [true, true, false], inputLength: [12, 5, 1], pastKvLength: [0, 64, 40] },
      numContextRequests: 2,
      numContextTokens: 17,
      numGenerationRequests: 1,
      numGenerationTokens: 1,
    });
  });

  it("encodes the entries form", () => {
    const w = encodeSimBatch(engineBatch, "entries");
    expect(w.packed).toBeUndefined();
    expect(w.entries).toEqual([ctx(12, 0), ctx(5, 64), gen(40)]);
  });

  it("copies only the live part of reused engine arrays", () => {
    const reused: SimBatch = { numContext: 1, numGeneration: 1, inputLength: [8, 1, 99, 99], pastKvLength: [0, 3, 99, 99], numContextTokens: 8 };
    const w = encodeSimBatch(reused);
    (reused.inputLength as number[])[0] = 1000;
    expect(w.packed!.inputLength).toEqual([8, 1]);
  });

  it("round-trips through decode in both forms", () => {
    const entry = fc.record({ context: fc.boolean(), past: fc.nat(1 << 20), chunk: fc.integer({ min: 1, max: 8192 }) });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 64 }), fc.constantFrom("entries" as const, "packed" as const), (es, form) => {
        const b = makeBatch(es.map((e) => ({ context: e.context, inputLength: e.context ? e.chunk : 1, pastKvLength: e.past })));
        const back = decodeSimBatch(encodeSimBatch(b, form), { maxEntries: 64 });
        expect(snapshotBatch(back)).toEqual(snapshotBatch(b));
        expect(back.numContext).toBe(b.numContext);
      }),
      { numRuns: 200 },
    );
  });
});

describe("decode runs", () => {
  it("yields generation-only batches with past_kv_length + step", () => {
    const run = decodeDecodeRun(encodeDecodeRun([10, 0, 7], 3), limits);
    const steps = [...decodeRunBatches(run)].length;
    expect(steps).toBe(3);
    const seen: number[][] = [];
    for (const b of decodeRunBatches(run)) {
      expect(b.numContext).toBe(0);
      expect(b.numGeneration).toBe(3);
      expect(Array.from(b.inputLength)).toEqual([1, 1, 1]);
      seen.push(Array.from(b.pastKvLength));
    }
    expect(seen).toEqual([
      [10, 0, 7],
      [11, 1, 8],
      [12, 2, 9],
    ]);
  });

  const bad: Array<[string, { pastKvLength: number[]; numSteps: number }, string, RegExp]> = [
    ["no requests", { pastKvLength: [], numSteps: 2 }, "decode_run.past_kv_length", /empty/],
    ["zero steps", { pastKvLength: [1], numSteps: 0 }, "decode_run.num_steps", />= 1/],
    ["too many steps", { pastKvLength: [1], numSteps: 101 }, "decode_run.num_steps", /limit of 100/],
    ["too many requests", { pastKvLength: new Array(9).fill(0), numSteps: 1 }, "decode_run.past_kv_length", /limit of 8/],
    ["negative length", { pastKvLength: [4, -1], numSteps: 1 }, "decode_run.past_kv_length[1]", />= 0/],
    ["overflowing length", { pastKvLength: [2 ** 32 - 2], numSteps: 3 }, "decode_run.past_kv_length[0]", /uint32/],
  ];
  it.each(bad)("rejects %s", (_name, run, field, reason) => {
    const e = fieldError(() => decodeDecodeRun(run, limits));
    expect(e.field).toBe(field);
    expect(e.reason).toMatch(reason);
  });
});

describe("decodeSimBatch's fast path", () => {
  it("reports the first bad entry in entry order, whatever the check", () => {
    const badPhase = { phase: Phase.PHASE_UNSPECIFIED, inputLength: 1, pastKvLength: 0 };
    expect(fieldError(() => decodeSimBatch(wireBatch([ctx(-1), badPhase]), limits)).field).toBe("batch.entries[0].input_length");
    expect(fieldError(() => decodeSimBatch(wireBatch([badPhase, ctx(-1)]), limits)).field).toBe("batch.entries[0].phase");
    expect(fieldError(() => decodeSimBatch(wireBatch([ctx(3), gen(-1), badPhase]), limits)).field).toBe("batch.entries[1].past_kv_length");
    const tooMany = wireBatch([...Array.from({ length: 8 }, (_, i) => gen(i)), badPhase]);
    expect(fieldError(() => decodeSimBatch(tooMany, limits)).reason).toMatch(/9 entries, more than the limit of 8/);
  });

  it("matches a reordering reference on random packed batches in any order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 4096 }), fc.nat(1 << 20)), { minLength: 1, maxLength: 8 }), (es) => {
        const b = decodeSimBatch(
          packed(
            es.map((e) => e[0]),
            es.map((e) => (e[0] ? e[1] : 1)),
            es.map((e) => e[2]),
          ),
          limits,
        );
        const ordered = [...es.filter((e) => e[0]), ...es.filter((e) => !e[0])];
        expect(snapshotBatch(b)).toEqual({
          isContext: ordered.map((e) => e[0]),
          inputLength: ordered.map((e) => (e[0] ? e[1] : 1)),
          pastKvLength: ordered.map((e) => e[2]),
          numContextTokens: ordered.reduce((s, e) => s + (e[0] ? e[1] : 0), 0),
        });
      }),
      { numRuns: 300 },
    );
  });
});
