import { options, req } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { guaranteedNoEvict } from "../src/capacity/guaranteedNoEvict.js";
import { toEngineConfig } from "../src/engineConfig.js";
import { CAPACITY_POLICIES, CAPACITY_POLICY_NAMES, capacityPolicy, Simulation } from "../src/index.js";
import { EngineCore } from "../src/loop/engineCore.js";

describe("the capacity-policy registry", () => {
  it("lists the policies, default first, each with its TensorRT-LLM enum name", () => {
    expect(CAPACITY_POLICIES.map((p) => [p.name, p.trtllmName, p.reservation, p.decodeRunSafe])).toEqual([
      ["guaranteed_no_evict", "GUARANTEED_NO_EVICT", "to_completion", true],
      ["max_utilization", "MAX_UTILIZATION", "one_step", true],
      ["static_batch", "STATIC_BATCH", "to_completion", true],
    ]);
    expect(CAPACITY_POLICY_NAMES).toEqual(["guaranteed_no_evict", "max_utilization", "static_batch"]);
  });

  it("an unknown policy is an invalid argument, never another policy's branch", () => {
    for (const bad of ["prefill_first", "", "GUARANTEED_NO_EVICT", 1, null, undefined]) {
      expect(() => capacityPolicy(bad)).toThrow(/options\.capacityPolicy: must be guaranteed_no_evict, max_utilization or static_batch/);
      expect(() => new Simulation(options({ capacityPolicy: bad as never }), [req(0, 10, 2)])).toThrow(/options\.capacityPolicy/);
    }
  });

  it("the decode-run fast path is only taken when the policy declares it safe", () => {
    const lengthWith = (decodeRunSafe: boolean): number => {
      const cfg = { ...toEngineConfig(options()), capacity: { ...guaranteedNoEvict, decodeRunSafe } };
      const core = new EngineCore(cfg, { requests: [req(0, 10, 8), req(1, 10, 8)], countBelow: 2, mayTrackLater: false, queueCapacity: 2 });
      core.admission.restart(Int32Array.of(0, 1), 2);
      core.clockFree = true;
      core.build();
      core.commitSteps(1);
      core.ledger.supply(10);
      const b = core.build()!;
      expect([b.numContext, b.numGeneration]).toEqual([0, 2]);
      return core.decodeRunLength(0x7fffffff);
    };
    // 8 output tokens: the first came with the prefill, 7 decode iterations remain.
    expect(lengthWith(true)).toBe(7);
    expect(lengthWith(false)).toBe(1);
  });
});
