import { InvalidArgumentError } from "@servesim/core";
import { constant10x5, options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { toEngineConfig } from "../src/engineConfig.js";
import { Simulation } from "../src/index.js";

/**
 * Context batch waiting (batchWaiting.ts; PyExecutor._waiting_requests): constant predictor, 10 ms with any
 * context request, else 5 ms. max_num_tokens 150 keeps the second prompt out of the first iteration, so it
 * meets a running generation request and 101 scheduled tokens.
 */
describe("batch waiting (batch_wait_timeout_iters, batch_wait_max_tokens_ratio)", () => {
  const requests = [req(0, 100, 6), req(1, 100, 3)];
  const base = { maxBatchSize: 2, maxNumTokens: 150 };

  it("off (TensorRT-LLM's defaults): the second prompt runs next to the first decode", () => {
    const { result, batches } = trace(options(base), requests, constant10x5());
    expect(batches.map((b) => b.numContextTokens)).toEqual([100, 100, 0, 0, 0, 0]);
    expect(times(result.requests[1]!)).toEqual([20, 25, 30]);
  });

  it("holds the context for timeout_iters iterations while the tokens stay under ratio × max_num_tokens", () => {
    const { result, batches } = trace(options({ ...base, batchWait: { timeoutIters: 2, maxTokensRatio: 0.9 } }), requests, constant10x5());
    // 100 + 1 tokens < 0.9 × 150: held twice (decode-only iterations), released on the third.
    expect(batches.map((b) => b.numContextTokens)).toEqual([100, 0, 0, 100, 0, 0]);
    expect(batches.map((b) => b.isContext.length)).toEqual([1, 1, 1, 2, 2, 2]);
    const [r0, r1] = result.requests;
    expect(times(r0!)).toEqual([10, 15, 20, 30, 35, 40]);
    expect(times(r1!)).toEqual([30, 35, 40]);
    expect(r1!.ttftMs).toBe(30);
  });

  it("releases at once when the scheduled tokens reach ratio × max_num_tokens", () => {
    const { batches } = trace(options({ ...base, batchWait: { timeoutIters: 20, maxTokensRatio: 0.6 } }), requests, constant10x5());
    // 101 ≥ 0.6 × 150 = 90.
    expect(batches.map((b) => b.numContextTokens)).toEqual([100, 100, 0, 0, 0, 0]);
  });

  it("either knob at 0 never holds (TensorRT-LLM's release condition)", () => {
    for (const batchWait of [
      { timeoutIters: 0, maxTokensRatio: 0.9 },
      { timeoutIters: 20, maxTokensRatio: 0 },
    ]) {
      const { batches } = trace(options({ ...base, batchWait }), requests, constant10x5());
      expect(batches.map((b) => b.numContextTokens)).toEqual([100, 100, 0, 0, 0, 0]);
    }
  });

  it("never holds a context when no generation request runs (a cold start is not delayed)", () => {
    const { batches } = trace(options({ maxBatchSize: 2, maxNumTokens: 1000, batchWait: { timeoutIters: 20, maxTokensRatio: 0.9 } }), requests, constant10x5());
    expect(batches[0]!.numContextTokens).toBe(200);
  });

  it("is off under attention DP (TensorRT-LLM balances contexts across ranks instead)", () => {
    const batchWait = { timeoutIters: 20, maxTokensRatio: 0.9 };
    expect(toEngineConfig(options({ ...base, batchWait })).batchWait).toEqual(batchWait);
    expect(toEngineConfig(options({ ...base, batchWait, attentionDpRanks: 2 })).batchWait).toBeUndefined();
  });

  it("rejects bad settings naming the field", () => {
    const bad = (batchWait: unknown, field: string) => {
      expect(() => new Simulation(options({ batchWait } as never), [req(0, 10, 2)])).toThrow(InvalidArgumentError);
      expect(() => new Simulation(options({ batchWait } as never), [req(0, 10, 2)])).toThrow(field);
    };
    bad({ timeoutIters: -1, maxTokensRatio: 0.5 }, "options.batchWait.timeoutIters");
    bad({ timeoutIters: 1.5, maxTokensRatio: 0.5 }, "options.batchWait.timeoutIters");
    bad({ timeoutIters: 2, maxTokensRatio: 1.5 }, "options.batchWait.maxTokensRatio");
    bad({ timeoutIters: 2, maxTokensRatio: Number.NaN }, "options.batchWait.maxTokensRatio");
    bad(null, "options.batchWait");
  });
});
