import { status } from "@grpc/grpc-js";
import type { BatchPredictor, SimBatch } from "@servesim/core";
import { constantConfig, ctx, gen, openStream, startTestServer, type TestServer, wireBatch } from "@servesim/testkit";
import { Phase, PredictorKind } from "@servesim/wire/predictor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A predictor whose time depends on every KV length: 1 ms + Σ past_kv_length / 1000. */
const kvSensitive: BatchPredictor = {
  description: "kv-sensitive",
  predict(b: SimBatch) {
    let sum = 0;
    for (let i = 0; i < b.numContext + b.numGeneration; i++) sum += b.pastKvLength[i]!;
    return 1 + sum / 1000;
  },
};

describe("PredictStream", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { SERVESIM_MAX_BATCH_ENTRIES: "16" } });
  });
  afterAll(() => s.stop());

  it("answers every batch in order with its sequence echoed, then ends OK", async () => {
    const st = openStream(s.client);
    st.send({ config: constantConfig({ prefillScaleFactor: 2 }) });
    st.send({ batch: wireBatch([ctx(100)]), sequence: 7 });
    st.send({ batch: wireBatch([gen(100), gen(3)]), sequence: 8 });
    st.send({ batch: wireBatch([gen(101), ctx(10, 0)]), sequence: 9, includeBreakdown: true });
    st.send({
      batch: {
        entries: [],
        packed: { isContext: [false], inputLength: [1], pastKvLength: [9] },
        numContextRequests: 0,
        numContextTokens: 0,
        numGenerationRequests: 1,
        numGenerationTokens: 1,
      },
      sequence: 10,
    });
    st.call.end();
    expect(await st.status).toBeNull();
    expect(st.responses.map((r) => [r.sequence, r.timeMs])).toEqual([
      [7, 20],
      [8, 5],
      [9, 20],
      [10, 5],
    ]);
    expect(st.responses[2]!.breakdown).toEqual([{ op: "constant_prefill", source: "constant", ms: 20, flops: 0, bytes: 0 }]);
    expect(st.responses[0]!.breakdown).toEqual([]);
  });

  it("answers a decode run with one time per step", async () => {
    const st = openStream(s.client);
    st.send({ config: constantConfig({ constantDecodeTimeMs: 4 }) });
    st.send({ decodeRun: { pastKvLength: [10, 20], numSteps: 3 }, sequence: 1 });
    st.call.end();
    expect(await st.status).toBeNull();
    expect(st.responses).toHaveLength(1);
    expect(st.responses[0]).toMatchObject({ sequence: 1, stepTimesMs: [4, 4, 4], timeMs: 12 });
  });

  it("ends with INVALID_ARGUMENT when the first message is not a config", async () => {
    const st = openStream(s.client);
    st.send({ batch: wireBatch([gen(1)]), sequence: 1 });
    const err = await st.status;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe("message[0].config: the first message of a stream must carry the predictor config");
  });

  it("ends with INVALID_ARGUMENT naming the message index of a bad batch, after answering the earlier ones", async () => {
    const st = openStream(s.client);
    st.send({ config: constantConfig() });
    st.send({ batch: wireBatch([gen(1)]), sequence: 1 });
    st.send({ batch: wireBatch([ctx(3), { phase: Phase.PHASE_GENERATION, inputLength: 4, pastKvLength: 0 }]), sequence: 2 });
    st.send({ batch: wireBatch([gen(1)]), sequence: 3 });
    const err = await st.status;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe("message[2].batch.entries[1].input_length: must be 1 for a generation entry (got 4)");
    expect(st.responses.map((r) => r.sequence)).toEqual([1]);
  });

  const bad: Array<[string, Parameters<ReturnType<typeof openStream>["send"]>[0], string]> = [
    ["a second config", { config: constantConfig() }, "message[1].config: only the first message"],
    ["an empty message", {}, "message[1].message: carries neither batch nor decode_run"],
    ["a decode run without requests", { decodeRun: { pastKvLength: [], numSteps: 2 } }, "message[1].decode_run.past_kv_length: is empty"],
    ["a decode run of 0 steps", { decodeRun: { pastKvLength: [3], numSteps: 0 } }, "message[1].decode_run.num_steps: must be an integer >= 1"],
    [
      "a batch over the size limit",
      { batch: wireBatch(Array.from({ length: 17 }, (_, i) => gen(i))) },
      "message[1].batch: has 17 entries, more than the limit of 16",
    ],
  ];
  it.each(bad)("ends with INVALID_ARGUMENT for %s", async (_name, message, details) => {
    const st = openStream(s.client);
    st.send({ config: constantConfig() });
    st.send(message);
    const err = await st.status;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details.startsWith(details)).toBe(true);
  });

  it("ends with INVALID_ARGUMENT for a bad config in message 0", async () => {
    const st = openStream(s.client);
    st.send({ config: constantConfig({ kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED }) });
    const err = await st.status;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details.startsWith("message[0].config.kind: ")).toBe(true);
  });

  it("logs one line when a stream opens and one when it closes, none per batch", async () => {
    const before = s.logs.length;
    const st = openStream(s.client);
    st.send({ config: constantConfig() });
    for (let i = 0; i < 20; i++) st.send({ batch: wireBatch([gen(i)]), sequence: i });
    st.call.end();
    await st.status;
    await new Promise((r) => setTimeout(r, 50));
    const lines = s.logs.slice(before);
    expect(lines.map((l) => l.msg)).toEqual(["stream opened", "stream closed"]);
    expect(lines[1]).toMatchObject({ method: "PredictStream", outcome: "completed", messages: 21, answered: 20 });
  });
});

describe("PredictStream decode runs against a KV-sensitive predictor", () => {
  it("prices step i with every request at past_kv_length + i", async () => {
    const s = await startTestServer({ build: async () => kvSensitive });
    try {
      const st = openStream(s.client);
      st.send({ config: constantConfig() });
      st.send({ decodeRun: { pastKvLength: [1000, 3000], numSteps: 4 }, sequence: 42 });
      st.call.end();
      expect(await st.status).toBeNull();
      // Σ past = 4000 + 2i → 1 + (4000 + 2i) / 1000
      expect(st.responses[0]!.stepTimesMs).toEqual([5, 5.002, 5.004, 5.006]);
      expect(st.responses[0]!.sequence).toBe(42);
    } finally {
      await s.stop();
    }
  });

  it("stops pricing a decode run once the stream is cancelled", async () => {
    let calls = 0;
    const s = await startTestServer({ build: async () => ({ description: "counting", predict: () => (calls += 1) }) });
    try {
      const st = openStream(s.client, { deadline: Date.now() + 200 });
      st.send({ config: constantConfig() });
      st.send({ decodeRun: { pastKvLength: new Array(64).fill(0), numSteps: 1_048_576 }, sequence: 1 });
      const err = await st.status;
      expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
      await new Promise((r) => setTimeout(r, 100));
      const after = calls;
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).toBe(after);
      expect(calls).toBeLessThan(1_048_576);
      expect(st.responses).toHaveLength(0);
      expect(s.logs.find((l) => l.msg === "stream closed")).toMatchObject({ outcome: "cancelled" });
    } finally {
      await s.stop();
    }
  });

  it("ends with FAILED_PRECONDITION naming the message when the predictor returns a bad time", async () => {
    const s = await startTestServer({ build: async () => ({ description: "nan", predict: () => Number.NaN }) });
    try {
      const st = openStream(s.client);
      st.send({ config: constantConfig() });
      st.send({ batch: wireBatch([gen(1)]), sequence: 1 });
      const err = await st.status;
      expect(err?.code).toBe(status.FAILED_PRECONDITION);
      expect(err?.details).toMatch(/^message\[1\]: predictor "nan" returned NaN ms/);
    } finally {
      await s.stop();
    }
  });
});
