// The sweep component: its sweep file is a valid sweep over catalog models, and its Job is the one
// `servesim sweep --emit-k8s` writes (same arguments, shards = completions).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lookupGpu, lookupModel } from "@servesim/perf";
import { parseSweepFile, sweepJobObjects } from "@servesim/sweep";
import type { IContainer } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { K8S_DIR } from "./render.js";

const SWEEP_DIR = join(K8S_DIR, "components", "sweep-job");
const text = readFileSync(join(SWEEP_DIR, "sweep.yaml"), "utf8");
const plan = parseSweepFile(text, { file: "sweep.yaml", readText: () => "" });
const job = parse(readFileSync(join(SWEEP_DIR, "job.yaml"), "utf8")) as {
  spec: { completions: number; parallelism: number; template: { spec: { containers: IContainer[] } } };
};
const container = job.spec.template.spec.containers[0]!;

describe("sweep component", () => {
  it("sweeps catalog models and GPUs with a TP that divides the attention heads", () => {
    expect(plan.points.length).toBeGreaterThan(1);
    for (const p of plan.points) {
      const model = lookupModel(String(p.settings["model"]));
      expect(model, String(p.settings["model"])).toBeDefined();
      expect(lookupGpu(String(p.settings["gpu"]))).toBeDefined();
      expect(model!.spec.numHeads % Number(p.settings["tp"] ?? 1)).toBe(0);
    }
  });

  it("runs `servesim sweep` shards as the emitted Job does, completions = shards", () => {
    const shards = job.spec.completions;
    expect(container.args).toContain(`$(SHARD)/${shards}`);
    const cpus = Number(container.resources!.limits!["cpu"]);
    const emitted = sweepJobObjects({
      name: "servesim-sweep",
      files: {},
      shards,
      parallelism: job.spec.parallelism,
      cpus,
      memory: String(container.resources!.limits!["memory"]),
      image: "servesim",
      resultsClaim: "servesim-sweep-results",
      createClaim: true,
      claimSize: "1Gi",
      resultsDir: "servesim-sweep",
    }).find((o) => o["kind"] === "Job") as typeof job;
    const e = emitted.spec.template.spec.containers[0]!;
    expect(container.args).toEqual(e.args);
    expect(container.env).toEqual(e.env);
    expect(container.volumeMounts).toEqual(e.volumeMounts);
    expect(container.securityContext).toEqual(e.securityContext);
    expect(job.spec.parallelism).toBeLessThanOrEqual(shards);
  });
});
