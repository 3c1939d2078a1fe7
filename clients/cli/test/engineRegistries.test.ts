import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CAPACITY_POLICIES,
  CAPACITY_POLICY_NAMES,
  CHUNKING_POLICIES,
  CHUNKING_POLICY_NAMES,
  DEFAULT_CAPACITY_POLICY,
  ENGINE_PROFILES,
  TIMING_STRATEGY_NAMES,
} from "@servesim/engine";
import { CHUNKING_POLICY_BY_NAME, SCHEDULER_POLICY_BY_NAME } from "@servesim/wire";
import { ChunkingPolicy, SchedulerPolicy } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { CAPACITY, CHUNKING } from "../src/llmApiOptions.js";
import { repoRoot, runCli } from "./harness.js";

/**
 * The engine's registries are the source of truth for what users can name: every list of capacity
 * policies elsewhere (proto enum, wire names, CLI, LLM-API YAML, Python client, docs) is derived from the
 * capacity/ registry or checked here against it, so adding a policy without its wire value fails.
 */
const repo = (path: string): string => readFileSync(join(repoRoot, path), "utf8");

const PREFIX = "SCHEDULER_POLICY_";

describe("engine registries and the lists derived from them", () => {
  it("the proto enum SchedulerPolicy has exactly one value per registered capacity policy (plus UNSPECIFIED)", () => {
    const proto = repo("proto/servesim/v1/scheduler.proto");
    const body = /enum SchedulerPolicy \{([^}]*)\}/.exec(proto)![1]!;
    const values = [...body.matchAll(/(SCHEDULER_POLICY_\w+) = \d+;/g)].map((m) => m[1]!);
    expect(values).toEqual([`${PREFIX}UNSPECIFIED`, ...CAPACITY_POLICIES.map((p) => `${PREFIX}${p.trtllmName}`)]);
    const generated = Object.keys(SchedulerPolicy).filter((k) => k.startsWith(PREFIX) && k !== `${PREFIX}UNSPECIFIED`);
    expect(generated).toEqual(CAPACITY_POLICIES.map((p) => `${PREFIX}${p.trtllmName}`));
  });

  it("wire names, the LLM-API YAML values and the CLI's --scheduler-policy choices are the registry's", async () => {
    expect(Object.keys(SCHEDULER_POLICY_BY_NAME)).toEqual([...CAPACITY_POLICY_NAMES]);
    for (const p of CAPACITY_POLICIES) {
      const wire = SchedulerPolicy[`${PREFIX}${p.trtllmName}` as keyof typeof SchedulerPolicy];
      expect(SCHEDULER_POLICY_BY_NAME[p.name]).toBe(wire);
      expect(CAPACITY[p.trtllmName]).toBe(wire);
    }
    expect(Object.keys(CAPACITY)).toEqual(CAPACITY_POLICIES.map((p) => p.trtllmName));
    const help = (await runCli(["throughput", "--help"])).stdout.replace(/\s+/g, " ");
    expect(help).toContain(`--scheduler-policy <policy> ${CAPACITY_POLICY_NAMES.join(" | ")} (default ${DEFAULT_CAPACITY_POLICY})`);
  });

  it("the Python client's engine_config and the docs list the registered policies", () => {
    const specs = repo("clients/python/servesim_client/specs.py");
    expect(specs).toContain(`scheduler_policy (${CAPACITY_POLICY_NAMES.join(", ")})`);
    const pythonDoc = repo("docs/client-python.md");
    expect(pythonDoc).toContain(`\`scheduler_policy\` (${CAPACITY_POLICY_NAMES.map((n) => `\`"${n}"\``).join(", ")})`);
    const cliDoc = repo("docs/cli.md");
    expect(cliDoc).toContain(`capacity_scheduler_policy: MAX_UTILIZATION # ${CAPACITY_POLICIES.map((p) => p.trtllmName).join(" | ")}`);
    const engineDoc = repo("docs/engine.md");
    for (const p of CAPACITY_POLICIES) expect(engineDoc).toContain(`\`${p.name}\``);
  });

  it("the chunking policies: proto enum, wire names, LLM-API values, CLI choices, Python client and docs follow the registry", async () => {
    const proto = repo("proto/servesim/v1/scheduler.proto");
    const body = /enum ChunkingPolicy \{([^}]*)\}/.exec(proto)![1]!;
    const values = [...body.matchAll(/(CHUNKING_POLICY_\w+) = \d+;/g)].map((m) => m[1]!);
    expect(values).toEqual(["CHUNKING_POLICY_UNSPECIFIED", ...CHUNKING_POLICIES.map((p) => `CHUNKING_POLICY_${p.trtllmName}`)]);
    expect(Object.keys(CHUNKING_POLICY_BY_NAME)).toEqual([...CHUNKING_POLICY_NAMES]);
    for (const p of CHUNKING_POLICIES) {
      const wire = ChunkingPolicy[`CHUNKING_POLICY_${p.trtllmName}` as keyof typeof ChunkingPolicy];
      expect(CHUNKING_POLICY_BY_NAME[p.name]).toBe(wire);
      expect(CHUNKING[p.trtllmName]).toBe(wire);
    }
    expect(Object.keys(CHUNKING)).toEqual(CHUNKING_POLICIES.map((p) => p.trtllmName));
    const help = (await runCli(["throughput", "--help"])).stdout.replace(/\s+/g, " ");
    expect(help).toContain(`--chunking-policy <policy> ${CHUNKING_POLICY_NAMES.join(" | ")} (with chunked context)`);
    expect(repo("clients/python/servesim_client/specs.py")).toContain(`chunking_policy (${CHUNKING_POLICY_NAMES.join(", ")})`);
    expect(repo("docs/client-python.md")).toContain(`\`chunking_policy\` (${CHUNKING_POLICY_NAMES.map((n) => `\`"${n}"\``).join(", ")})`);
    for (const p of ENGINE_PROFILES) for (const name of p.chunkingPolicies) expect(CHUNKING_POLICY_NAMES).toContain(name);
  });

  it("every engine profile names registered policies and timing strategies; both of the wire's overlap settings exist", () => {
    for (const profile of ENGINE_PROFILES) {
      for (const name of profile.capacityPolicies) expect(CAPACITY_POLICY_NAMES).toContain(name);
      for (const name of profile.timingStrategies) expect(TIMING_STRATEGY_NAMES).toContain(name);
      expect(profile.timingStrategies).toContain(profile.defaultTiming);
      // The job-level timing default (host/device model) names one of the profile's loops.
      expect(profile.timingStrategies).toContain(profile.timing.model.replace("-", "_"));
    }
    // EngineConfig.disable_overlap_scheduler selects one of these two.
    expect(TIMING_STRATEGY_NAMES).toEqual(expect.arrayContaining(["non_overlap", "overlap"]));
  });
});
