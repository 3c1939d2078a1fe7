import { InvalidArgumentError } from "@servesim/core";
import { options, req, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

// The testkit predictor: 10 ms for a batch with context requests, 5 ms for a decode-only batch (non-overlap loop).
describe("trtllm-serve's front end (frontEnd.ts)", () => {
  const fe = { perRequestUs: 1000, perPromptTokenUs: 100, perResponseUs: 2000 };

  it("a request reaches the engine after its tokenization; each response reaches the client after the thread posts it", () => {
    const { result } = trace(options({ arrivals: { kind: "concurrency", concurrency: 1 }, frontEnd: fe }), [req(0, 10, 3), req(1, 10, 3)]);
    // r0: sent at 0, in the engine at 0 + 1 + 10 × 0.1 = 2 ms; prefill 2–12, decodes 12–17, 17–22; each
    // response posted 2 ms after its iteration (or after the previous one): 14, 19, 24. The client sends r1
    // at 24; it reaches the engine at 26: prefill 26–36, decodes to 46; posted at 38, 43, 48.
    expect(result.requests.map((r) => r.startMs)).toEqual([0, 24]);
    expect(result.requests.map((r) => Array.from(r.tokenTimesMs!))).toEqual([
      [14, 19, 24],
      [38, 43, 48],
    ]);
    expect(result.requests.map((r) => r.ttftMs)).toEqual([14, 14]);
    expect(result.requests.map((r) => r.e2eMs)).toEqual([24, 24]);
  });

  it("a thread slower than the engine paces the tokens", () => {
    const slow = { perRequestUs: 0, perPromptTokenUs: 0, perResponseUs: 4000 };
    const { result } = trace(options({ arrivals: { kind: "concurrency", concurrency: 2 }, frontEnd: slow }), [req(0, 10, 3), req(1, 10, 3)]);
    // Both prefill 0–10 and decode 10–15, 15–20; each iteration's two responses take 8 ms: posted at 18, 26, 34.
    expect(result.requests.map((r) => Array.from(r.tokenTimesMs!))).toEqual([
      [18, 26, 34],
      [18, 26, 34],
    ]);
    expect(result.requests.map((r) => r.tpotMs)).toEqual([8, 8]);
  });

  it("a front end that costs nothing changes nothing", () => {
    const reqs = [req(0, 10, 3), req(1, 20, 5), req(2, 30, 2)];
    const base = trace(options({ arrivals: { kind: "concurrency", concurrency: 2 } }), reqs).result.requests;
    const free = trace(
      options({ arrivals: { kind: "concurrency", concurrency: 2 }, frontEnd: { perRequestUs: 0, perPromptTokenUs: 0, perResponseUs: 0 } }),
      reqs,
    ).result.requests;
    expect(free).toEqual(base);
  });

  it("rejects a cost outside [0, 1e6] µs, naming the field", () => {
    const bad = { ...fe, perResponseUs: -1 };
    expect(() => trace(options({ frontEnd: bad }), [req(0, 10, 3)])).toThrow(InvalidArgumentError);
    expect(() => trace(options({ frontEnd: bad }), [req(0, 10, 3)])).toThrow(/options\.frontEnd\.perResponseUs/);
  });
});
