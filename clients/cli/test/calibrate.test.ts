import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

describe("servesim calibrate", () => {
  it("fits an iteration log into a --sim-config that throughput runs with the calibrated predictor", async () => {
    const prep = await runCli([
      "prepare-dataset",
      "token-unif-dist",
      "--num-requests",
      "60",
      "--input-min",
      "50",
      "--input-max",
      "900",
      "--output-min",
      "5",
      "--output-max",
      "80",
      "--output",
      file("d.jsonl"),
    ]);
    expect(prep.code).toBe(0);
    const run = await runCli([
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--gpu",
      "h100_sxm",
      "--concurrency",
      "16",
      "--iteration-log",
      file("it.log"),
      "--quiet",
    ]);
    expect(run.code).toBe(0);
    const cal = await runCli(["calibrate", "--iteration_log", file("it.log"), "--output", file("cal.yaml")]);
    expect(cal.stderr).toBe("");
    expect(cal.code).toBe(0);
    expect(cal.stdout).toMatch(/^Calibrated predictor from \d+ iterations\n/);
    expect(cal.stdout).toContain("MAPE (%):");
    const yaml = parse(readFileSync(file("cal.yaml"), "utf8")) as { predictor: { name: string; calibrated: Record<string, number> } };
    expect(yaml.predictor.name).toBe("calibrated");
    expect(Object.keys(yaml.predictor.calibrated)).toEqual([
      "intercept_ms",
      "per_context_request_ms",
      "per_context_token_ms",
      "per_generation_request_ms",
      "per_generation_kv_token_ms",
      "per_context_attention_area_ms",
    ]);
    const replay = await runCli([
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--gpu",
      "h100_sxm",
      "--concurrency",
      "16",
      "--sim-config",
      file("cal.yaml"),
    ]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^\[SIM\] servesim simulated run — no GPU used\. Predictor: calibrated \(/);
    const printed = await runCli(["calibrate", "--iteration-log", file("it.log")]);
    expect(printed.stdout).toBe(readFileSync(file("cal.yaml"), "utf8"));
  });

  it("names the file and line of a bad log line", async () => {
    writeFileSync(
      file("bad.log"),
      "{'iter': 0, 'iterLatencyMS': 5.0, 'inflightBatchingStats': {'numContextRequests': 1, 'numCtxTokens': 10, 'numGenRequests': 0}}\nnot a dict\n",
    );
    const r = await runCli(["calibrate", "--iteration-log", file("bad.log")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: ${file("bad.log")} line 2: `));
  });
});
