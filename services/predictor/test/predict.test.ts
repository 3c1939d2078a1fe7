import { status } from "@grpc/grpc-js";
import { createPredictor } from "@servesim/perf";
import { callError, constantConfig, ctx, gate, gen, predict, startTestServer, type TestServer, wireBatch } from "@servesim/testkit";
import { Phase, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("Predict (constant predictor)", () => {
  let s: TestServer;
  let builds = 0;
  beforeAll(async () => {
    s = await startTestServer({
      env: { SERVESIM_MAX_BATCH_ENTRIES: "4" },
      build: (config: PredictorConfig) => {
        builds += 1;
        return createPredictor(config);
      },
    });
  });
  afterAll(() => s.stop());

  it("prices a context-only batch at the prefill time (10 ms)", async () => {
    expect((await predict(s.client, { config: constantConfig(), batch: wireBatch([ctx(128)]) })).timeMs).toBe(10);
  });

  it("prices a generation-only batch at the decode time (5 ms)", async () => {
    expect((await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(10), gen(20)]) })).timeMs).toBe(5);
  });

  it("prices a mixed batch at the prefill time", async () => {
    expect((await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(10), ctx(1, 63), gen(4)]) })).timeMs).toBe(10);
  });

  it("applies the configured times and scale factors", async () => {
    const config = constantConfig({ constantPrefillTimeMs: 20, constantDecodeTimeMs: 4, prefillScaleFactor: 1.5, decodeScaleFactor: 0.5 });
    expect((await predict(s.client, { config, batch: wireBatch([ctx(8)]) })).timeMs).toBe(30);
    expect((await predict(s.client, { config, batch: wireBatch([gen(8)]) })).timeMs).toBe(2);
  });

  it("accepts the packed form", async () => {
    const batch = {
      entries: [],
      packed: { isContext: [false, false], inputLength: [1, 1], pastKvLength: [3, 4] },
      numContextRequests: 0,
      numContextTokens: 0,
      numGenerationRequests: 2,
      numGenerationTokens: 2,
    };
    expect((await predict(s.client, { config: constantConfig(), batch })).timeMs).toBe(5);
  });

  it("returns the breakdown when asked", async () => {
    const r = await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]), includeBreakdown: true });
    expect(r.breakdown).toEqual([{ op: "constant_decode", source: "constant", ms: 5, flops: 0, bytes: 0 }]);
    const plain = await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) });
    expect(plain.breakdown).toEqual([]);
  });

  it("builds a predictor once per configuration", async () => {
    const before = builds;
    const config = constantConfig({ constantDecodeTimeMs: 7 });
    for (let i = 0; i < 3; i++) await predict(s.client, { config, batch: wireBatch([gen(i)]) });
    expect(builds - before).toBe(1);
  });

  const bad: Array<[string, () => Parameters<typeof predict>[1], string]> = [
    ["missing config", () => ({ batch: wireBatch([gen(1)]) }), "config: is required"],
    ["missing batch", () => ({ config: constantConfig() }), "batch: is required"],
    [
      "unspecified predictor kind",
      () => ({ config: constantConfig({ kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED }), batch: wireBatch([gen(1)]) }),
      "config.kind:",
    ],
    ["unknown predictor kind", () => ({ config: constantConfig({ kind: 99 as PredictorKind }), batch: wireBatch([gen(1)]) }), "config.kind:"],
    [
      "negative constant time",
      () => ({ config: constantConfig({ constantPrefillTimeMs: -1 }), batch: wireBatch([gen(1)]) }),
      "config.constant_prefill_time_ms:",
    ],
    ["empty batch", () => ({ config: constantConfig(), batch: wireBatch([]) }), "batch: is empty"],
    [
      "unspecified phase",
      () => ({ config: constantConfig(), batch: wireBatch([{ phase: Phase.PHASE_UNSPECIFIED, inputLength: 1, pastKvLength: 0 }]) }),
      "batch.entries[0].phase: is unspecified",
    ],
    [
      "generation entry with input_length 3",
      () => ({ config: constantConfig(), batch: wireBatch([gen(1), { phase: Phase.PHASE_GENERATION, inputLength: 3, pastKvLength: 0 }]) }),
      "batch.entries[1].input_length: must be 1",
    ],
    ["context entry with input_length 0", () => ({ config: constantConfig(), batch: wireBatch([ctx(0)]) }), "batch.entries[0].input_length: must be >= 1"],
    ["totals that disagree", () => ({ config: constantConfig(), batch: { ...wireBatch([ctx(5)]), numContextTokens: 6 } }), "batch.num_context_tokens: is 6"],
    [
      "entries and packed both set",
      () => ({ config: constantConfig(), batch: { ...wireBatch([gen(1)]), packed: { isContext: [false], inputLength: [1], pastKvLength: [1] } } }),
      "batch: entries and packed are both set",
    ],
    [
      "packed arrays of different lengths",
      () => ({
        config: constantConfig(),
        batch: {
          entries: [],
          packed: { isContext: [false, false], inputLength: [1], pastKvLength: [1, 2] },
          numContextRequests: 0,
          numContextTokens: 0,
          numGenerationRequests: 2,
          numGenerationTokens: 2,
        },
      }),
      "batch.packed: is_context, input_length and past_kv_length must have the same length (got 2, 1, 2)",
    ],
    [
      "batch over SERVESIM_MAX_BATCH_ENTRIES",
      () => ({ config: constantConfig(), batch: wireBatch([gen(1), gen(2), gen(3), gen(4), gen(5)]) }),
      "batch: has 5 entries, more than the limit of 4",
    ],
  ];
  it.each(bad)("answers INVALID_ARGUMENT for %s", async (_name, req, details) => {
    const err = await callError(predict(s.client, req()));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details.startsWith(details)).toBe(true);
  });
});

describe("Predict failures", () => {
  it("answers FAILED_PRECONDITION when a predictor returns a time that is not finite and > 0", async () => {
    for (const bad of [Number.NaN, 0, -2, Infinity]) {
      const s = await startTestServer({ build: async () => ({ description: "broken", predict: () => bad }) });
      try {
        const err = await callError(predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }));
        expect(err.code).toBe(status.FAILED_PRECONDITION);
        expect(err.details).toContain(`predictor "broken" returned ${bad} ms`);
        expect(err.details).toContain("must be finite and > 0");
      } finally {
        await s.stop();
      }
    }
  });

  it("answers FAILED_PRECONDITION when a predictor returns a pipeline stage time that is not finite and >= 0", async () => {
    for (const bad of [Number.NaN, -1, Infinity]) {
      const predictStages = (_b: unknown, out: Float64Array) => {
        out.set([1, bad]);
        return 3;
      };
      const s = await startTestServer({ build: async () => ({ description: "broken", predict: () => 3, pipelineStages: 2, predictStages }) });
      try {
        const err = await callError(predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }));
        expect(err.code).toBe(status.FAILED_PRECONDITION);
        expect(err.details).toContain(`predictor "broken" returned ${bad} ms for pipeline stage 1`);
      } finally {
        await s.stop();
      }
    }
  });

  it("answers INTERNAL without the error's message, and logs it with its stack", async () => {
    const s = await startTestServer({
      build: async () => ({
        description: "throws",
        predict: () => {
          throw new Error("secret: /etc/db-password");
        },
      }),
    });
    try {
      const err = await callError(predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }));
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toBe("internal error");
      expect(err.message).not.toContain("secret");
      const logged = s.logs.find((l) => l.msg === "internal error") as { err: { message: string; stack: string }; method: string } | undefined;
      expect(logged?.method).toBe("Predict");
      expect(logged?.err.message).toBe("secret: /etc/db-password");
      expect(logged?.err.stack).toContain("predict.test.ts");
    } finally {
      await s.stop();
    }
  });

  it("answers DEADLINE_EXCEEDED when the predictor outlives the deadline", async () => {
    const release = gate<number>();
    const started = gate();
    const s = await startTestServer({ build: async () => ({ description: "slow", predict: () => (started.open(), release.promise) }) });
    try {
      const pending = callError(predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }, { deadline: Date.now() + 300 }));
      await started.promise;
      const err = await pending;
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
      release.open(5);
      // The server is unaffected: the next call is answered.
      expect((await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) })).timeMs).toBe(5);
    } finally {
      await s.stop();
    }
  });

  it("answers DEADLINE_EXCEEDED for a deadline already past", async () => {
    const s = await startTestServer();
    try {
      const err = await callError(predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }, { deadline: Date.now() - 1 }));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      await s.stop();
    }
  });
});
