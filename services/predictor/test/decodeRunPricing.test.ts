import { status } from "@grpc/grpc-js";
import type { BatchPredictor } from "@servesim/core";
import { constantConfig, gen, openStream, rooflineLlama8bH100Fp8, startTestServer, wireBatch } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

const roofline = rooflineLlama8bH100Fp8();

describe("PredictStream prices a DecodeRun with the predictor's own predictDecodeRun", () => {
  it("one call for the whole run, its times answered and summed in step order", async () => {
    const calls: Array<[number[], number, number]> = [];
    let predicts = 0;
    const predictor: BatchPredictor = {
      description: "run-aware",
      predict: () => (predicts += 1),
      predictDecodeRun(pastKv, count, steps) {
        calls.push([Array.from(pastKv), count, steps]);
        return Float64Array.from({ length: steps }, (_, i) => 0.1 + i * 0.2);
      },
    };
    const s = await startTestServer({ build: async () => predictor });
    try {
      const st = openStream(s.client);
      st.send({ config: constantConfig() });
      st.send({ decodeRun: { pastKvLength: [7, 900, 31], numSteps: 5 }, sequence: 3 });
      st.call.end();
      expect(await st.status).toBeNull();
      expect(calls).toEqual([[[7, 900, 31], 3, 5]]);
      expect(predicts).toBe(0);
      const times = [0.1, 0.1 + 0.2, 0.1 + 2 * 0.2, 0.1 + 3 * 0.2, 0.1 + 4 * 0.2];
      expect(st.responses[0]!.stepTimesMs).toEqual(times);
      expect(st.responses[0]!.timeMs).toBe(times.reduce((a, b) => a + b, 0));
    } finally {
      await s.stop();
    }
  });

  it("gives the roofline predictor's per-step batch times exactly", async () => {
    const s = await startTestServer();
    try {
      const past = [0, 17, 1000, 4095, 129, 77_000];
      const steps = 40;
      const st = openStream(s.client);
      st.send({ config: roofline });
      st.send({ decodeRun: { pastKvLength: past, numSteps: steps }, sequence: 1 });
      for (let i = 0; i < steps; i++) st.send({ batch: wireBatch(past.map((p) => gen(p + i))), sequence: 100 + i });
      st.call.end();
      expect(await st.status).toBeNull();
      const [run, ...batches] = st.responses;
      expect(run!.stepTimesMs).toEqual(batches.map((b) => b.timeMs));
      let total = 0;
      for (const b of batches) total += b.timeMs;
      expect(run!.timeMs).toBe(total);
    } finally {
      await s.stop();
    }
  });

  it("ends with FAILED_PRECONDITION when a step time is invalid or missing", async () => {
    for (const [times, details] of [
      [[1, -2, 3], /^message\[1\]: predictor "bad" returned -2 ms for a batch of 0 context and 2 generation entries/],
      [[1, 2], /^message\[1\]: predictor "bad" returned 2 times for a decode run of 3 steps/],
    ] as const) {
      const predictor: BatchPredictor = { description: "bad", predict: () => 1, predictDecodeRun: () => [...times] };
      const s = await startTestServer({ build: async () => predictor });
      try {
        const st = openStream(s.client);
        st.send({ config: constantConfig() });
        st.send({ decodeRun: { pastKvLength: [1, 2], numSteps: 3 }, sequence: 1 });
        const err = await st.status;
        expect(err?.code).toBe(status.FAILED_PRECONDITION);
        expect(err?.details).toMatch(details);
      } finally {
        await s.stop();
      }
    }
  });
});
