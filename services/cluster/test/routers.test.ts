import { InvalidArgumentError, type SimRequest } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { createRouter, type InstanceLoad, ROUTERS, type RoutingTarget, resolveRouter, routerByName } from "../src/index.js";

const target = (index: number, l: Partial<InstanceLoad>): RoutingTarget => ({
  index,
  load: () => ({ queued: 0, active: 0, kvUsedBlocks: 0, kvTotalBlocks: 100, ...l }),
});
const req = (ids?: number[], inputLength = ids?.length ?? 32): SimRequest => ({ taskId: 0, inputLength, outputTokens: 8, ...(ids ? { inputIds: ids } : {}) });

describe("router registry", () => {
  it("finds entries by name and TensorRT-LLM alias", () => {
    expect(routerByName("load_balancing")?.name).toBe("least_loaded");
    expect(routerByName("KV_CACHE_AWARE")?.name).toBe("kv_aware");
    expect(routerByName("nope")).toBeUndefined();
    expect(ROUTERS.map((r) => r.name)).toEqual(["round_robin", "least_loaded", "least_kv_usage", "kv_aware"]);
  });

  it("rejects unknown types and weights, and negative weights, naming the field", () => {
    expect(() => resolveRouter("random", {}, "spec.cluster.router")).toThrow(InvalidArgumentError);
    expect(() => resolveRouter("random", {}, "spec.cluster.router")).toThrow(
      /^spec.cluster.router.type: must be one of round_robin, least_loaded \(load_balancing\)/,
    );
    expect(() => resolveRouter("kv_aware", { speed: 1 }, "r")).toThrow('r.weights: "speed" is not a weight of router kv_aware (prefix, kv_load, active)');
    expect(() => resolveRouter("kv_aware", { prefix: -1 }, "r")).toThrow("r.weights.prefix: must be a finite number >= 0 (got -1)");
    expect(resolveRouter("", {}, "r").entry.name).toBe("round_robin");
    expect(resolveRouter("kv_aware", { kv_load: 0.5 }, "r").weights).toEqual({ prefix: 1, kv_load: 0.5, active: 0 });
  });
});

describe("routers", () => {
  it("round_robin cycles", () => {
    const r = createRouter(resolveRouter("round_robin", {}, "r"), 16, 3);
    const ts = [target(0, {}), target(1, {}), target(2, {})];
    expect([0, 1, 2, 3].map(() => r.route(req(), ts))).toEqual([0, 1, 2, 0]);
  });

  it("least_loaded picks the fewest requests in flight, ties in turn", () => {
    const r = createRouter(resolveRouter("least_loaded", {}, "r"), 16, 3);
    expect(r.route(req(), [target(0, { active: 3 }), target(1, { active: 1, queued: 1 }), target(2, { active: 5 })])).toBe(1);
    const equal = [target(0, {}), target(1, {}), target(2, {})];
    expect([0, 1, 2].map(() => r.route(req(), equal))).toEqual([2, 0, 1]);
  });

  it("least_kv_usage picks the lowest used fraction", () => {
    const r = createRouter(resolveRouter("least_kv_usage", {}, "r"), 16, 2);
    expect(r.route(req(), [target(0, { kvUsedBlocks: 30, kvTotalBlocks: 100 }), target(1, { kvUsedBlocks: 20, kvTotalBlocks: 50 })])).toBe(0);
  });

  it("kv_aware sends a prompt where its prefix is cached unless that instance is much busier", () => {
    const r = createRouter(resolveRouter("kv_aware", {}, "r"), 4, 2);
    const shared = Array.from({ length: 16 }, (_, i) => i + 1);
    const ts = [target(0, {}), target(1, {})];
    // First sighting: both cost 4 blocks; tie → the instance after the last chosen (none yet) = 0.
    expect(r.route(req(shared), ts)).toBe(0);
    // Same 16-token prefix plus 4 more: instance 0 has 4 of 5 blocks cached.
    expect(r.route(req([...shared, 99, 98, 97, 96]), ts)).toBe(0);
    // Instance 0 now far busier in KV: 10 blocks in use outweigh 5 blocks of prefill.
    const busy = [target(0, { kvUsedBlocks: 10 }), target(1, {})];
    expect(r.route(req([...shared, 1, 2, 3, 4]), busy)).toBe(1);
    // With the load weight at 0, prefix alone decides.
    const prefixOnly = createRouter(resolveRouter("kv_aware", { kv_load: 0 }, "r"), 4, 2);
    prefixOnly.route(req(shared), ts);
    expect(prefixOnly.route(req(shared), busy)).toBe(0);
  });
});
