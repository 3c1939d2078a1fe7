import { InvalidArgumentError } from "@servesim/core";
import { constantConfig } from "@servesim/testkit";
import type { PredictorConfig } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { configKey, PredictorCache } from "../src/predictorCache.js";

function countingCache(capacity: number) {
  const built: number[] = [];
  let closed = 0;
  const cache = new PredictorCache(capacity, async (c: PredictorConfig) => {
    const ms = c.constantDecodeTimeMs ?? 0;
    if (ms < 0) throw new InvalidArgumentError("config.constant_decode_time_ms", "must be > 0");
    built.push(ms);
    return { description: `p${ms}`, predict: () => ms, close: () => void (closed += 1) };
  });
  return { cache, built, closed: () => closed };
}

describe("PredictorCache", () => {
  it("keys configurations canonically", () => {
    expect(configKey(constantConfig({ constantDecodeTimeMs: 3 }))).toBe(configKey({ ...constantConfig(), constantDecodeTimeMs: 3 }));
    expect(configKey(constantConfig({ constantDecodeTimeMs: 3 }))).not.toBe(configKey(constantConfig({ constantDecodeTimeMs: 4 })));
  });

  it("shares one build between concurrent requests and evicts the least recently used", async () => {
    const { cache, built } = countingCache(2);
    const cfg = (ms: number) => constantConfig({ constantDecodeTimeMs: ms });
    const [a, b] = await Promise.all([cache.get(cfg(1)), cache.get(cfg(1))]);
    expect(a).toBe(b);
    await cache.get(cfg(2));
    await cache.get(cfg(1)); // 1 is now the most recent
    await cache.get(cfg(3)); // evicts 2
    expect(cache.size).toBe(2);
    await cache.get(cfg(1));
    await cache.get(cfg(2)); // rebuilt
    expect(built).toEqual([1, 2, 3, 2]);
  });

  it("does not cache a failed build", async () => {
    const { cache, built } = countingCache(4);
    await expect(cache.get(constantConfig({ constantDecodeTimeMs: -1 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await new Promise((r) => setImmediate(r));
    expect(cache.size).toBe(0);
    expect(built).toEqual([]);
  });

  it("closes the cached predictors", async () => {
    const { cache, closed } = countingCache(4);
    await cache.get(constantConfig({ constantDecodeTimeMs: 1 }));
    await cache.get(constantConfig({ constantDecodeTimeMs: 2 }));
    await cache.close();
    expect(closed()).toBe(2);
    expect(cache.size).toBe(0);
  });
});
