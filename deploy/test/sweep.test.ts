// The sweep component: run-sweep.sh (driven with a stand-in for the servesim CLI that records its
// arguments) and the sweep entries and dataset it ships.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lookupGpu, lookupModel } from "@servesim/perf";
import { afterAll, describe, expect, it } from "vitest";
import { sweepEntries } from "./manifests.js";
import { K8S_DIR } from "./render.js";

const SWEEP_DIR = join(K8S_DIR, "components", "sweep-job");
const SCRIPT = join(SWEEP_DIR, "run-sweep.sh");
const ENTRIES = sweepEntries(readFileSync(join(SWEEP_DIR, "sweep.txt"), "utf8"));

const work = mkdtempSync(join(tmpdir(), "servesim-sweep-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Stand-in CLI: prints a line, writes {argv} to the --report-json file, exits with $FAKE_EXIT.
const FAKE_CLI = join(work, "fake-cli.mjs");
writeFileSync(
  FAKE_CLI,
  `import { writeFileSync } from "node:fs";
const argv = process.argv.slice(2);
console.log("text report");
const code = Number(process.env.FAKE_EXIT ?? "0");
if (code === 0) writeFileSync(argv[argv.indexOf("--report-json") + 1], JSON.stringify({ argv }));
process.exit(code);
`,
);

function runSweep(env: Record<string, string>) {
  const r = spawnSync("/bin/sh", [SCRIPT], {
    encoding: "utf8",
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      SERVESIM_SCHEDULER_ADDRESS: "scheduler:50052",
      SWEEP_DIR,
      RESULTS_DIR: join(work, "results"),
      SERVESIM_CLI: FAKE_CLI,
      ...env,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const RESULT_PREFIX = "SERVESIM_SWEEP_RESULT ";

describe("run-sweep.sh", () => {
  it("runs the entry of its completion index and prints the report as the last line", () => {
    const r = runSweep({ JOB_COMPLETION_INDEX: "2" });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("text report");
    expect(lines.at(-1)!.startsWith(RESULT_PREFIX)).toBe(true);
    const result = JSON.parse(lines.at(-1)!.slice(RESULT_PREFIX.length)) as { index: number; args: string; report: { argv: string[] } };
    expect(result.index).toBe(2);
    expect(result.args).toBe(ENTRIES[2]);
    expect(result.report.argv).toEqual([
      "throughput",
      "--scheduler-address",
      "scheduler:50052",
      "--dataset",
      join(SWEEP_DIR, "dataset.jsonl"),
      "--report-json",
      join(work, "results", "report-2.json"),
      ...ENTRIES[2]!.split(/\s+/),
    ]);
  });

  it("counts entries only (comments and blank lines skipped) and never expands globs", () => {
    const file = join(work, "sweep.txt");
    writeFileSync(file, "# header\n\n--model a --x 1\n  # indented comment\n--model b   --pattern *\n");
    const r = runSweep({ JOB_COMPLETION_INDEX: "1", SWEEP_FILE: file });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!.slice(RESULT_PREFIX.length)) as { args: string; report: { argv: string[] } };
    expect(result.args).toBe("--model b   --pattern *");
    expect(result.report.argv.slice(-4)).toEqual(["--model", "b", "--pattern", "*"]);
  });

  it("fails with the entry count when the index is past the last entry", () => {
    const r = runSweep({ JOB_COMPLETION_INDEX: String(ENTRIES.length) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`set the Job's completions to ${ENTRIES.length}`);
    expect(r.stdout).not.toContain(RESULT_PREFIX);
  });

  it("rejects a missing or non-numeric index and a missing scheduler address", () => {
    expect(runSweep({ JOB_COMPLETION_INDEX: "x1" }).code).toBe(2);
    expect(runSweep({}).code).not.toBe(0);
    expect(runSweep({ JOB_COMPLETION_INDEX: "0", SERVESIM_SCHEDULER_ADDRESS: "" }).code).not.toBe(0);
  });

  it("fails with the CLI's exit status and prints no result when the run fails", () => {
    const r = runSweep({ JOB_COMPLETION_INDEX: "0", FAKE_EXIT: "3" });
    expect(r.code).toBe(3);
    expect(r.stdout).not.toContain(RESULT_PREFIX);
  });
});

describe("sweep entries and dataset", () => {
  const dataset = readFileSync(join(SWEEP_DIR, "dataset.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { task_id: number; input_ids: number[]; output_tokens: number });

  it("gives every entry one catalog model and GPU, a TP that divides the model's attention heads, and no flag the script sets", () => {
    expect(ENTRIES.length).toBeGreaterThan(0);
    for (const entry of ENTRIES) {
      const words = entry.split(/\s+/);
      const models = words.flatMap((w, i) => (w === "--model" ? [words[i + 1]!] : []));
      expect(models, entry).toHaveLength(1);
      const hit = lookupModel(models[0]!);
      expect(hit, `${models[0]} is in the model catalog`).toBeDefined();
      const gpus = words.flatMap((w, i) => (w === "--gpu" ? [words[i + 1]!] : []));
      expect(gpus, entry).toHaveLength(1);
      expect(lookupGpu(gpus[0]!), `${gpus[0]} is in the GPU catalog`).toBeDefined();
      const tp = words.includes("--tp") ? Number(words[words.indexOf("--tp") + 1]) : 1;
      expect(Number.isInteger(tp) && tp >= 1, entry).toBe(true);
      expect(hit!.spec.numHeads % tp, entry).toBe(0);
      for (const flag of ["--scheduler-address", "--report-json"]) expect(words, entry).not.toContain(flag);
    }
  });

  it("is a trtllm-bench dataset that fits every swept model", () => {
    expect(dataset.length).toBeGreaterThan(0);
    const models = ENTRIES.map((e) => lookupModel(e.split(/\s+/)[e.split(/\s+/).indexOf("--model") + 1]!)!.spec);
    const maxSeq = Math.min(...models.map((m) => m.maxPositionEmbeddings));
    const vocab = Math.min(...models.map((m) => m.vocab));
    for (const r of dataset) {
      expect(Number.isInteger(r.task_id)).toBe(true);
      expect(r.input_ids.length).toBeGreaterThan(0);
      expect(r.input_ids.every((t) => Number.isInteger(t) && t >= 0 && t < vocab)).toBe(true);
      expect(Number.isInteger(r.output_tokens) && r.output_tokens >= 1).toBe(true);
      expect(r.input_ids.length + r.output_tokens).toBeLessThanOrEqual(maxSeq);
    }
    expect(new Set(dataset.map((r) => r.task_id)).size).toBe(dataset.length);
  });
});
