import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli, tempDir } from "./harness.js";

const run = promisify(execFile);
const bundle = join(repoRoot, "clients", "cli", "bundle", "servesim.js");
const dir = tempDir();

// make build and make test write the bundle (scripts/bundle-cli.mjs); a bare vitest run may not have it.
describe.skipIf(!existsSync(bundle))("the bundled CLI (clients/cli/bundle/servesim.js)", () => {
  it("prints the version and simulates exactly what the CLI's modules do", async () => {
    const version = await run(process.execPath, [bundle, "--version"]);
    expect(version.stdout).toMatch(/^servesim \d+\.\d+\.\d+ \(emulates trtllm-bench of TensorRT-LLM /);
    const data = join(dir, "d.jsonl");
    writeFileSync(
      data,
      ['{"session_id":"a","timestamp":0,"input_length":64,"output_length":4}', '{"session_id":"a","delay":30,"input_length":8,"output_length":3}'].join("\n"),
    );
    const args = ["throughput", "--dataset", data, "-m", "llama-3.1-8b", "--predictor", "constant", "--warmup", "0", "-q", "--trace"];
    await run(process.execPath, [bundle, ...args, "--request-json", join(dir, "bundle.jsonl")]);
    const ref = await runCli([...args, "--request-json", join(dir, "modules.jsonl")]);
    expect(ref.code).toBe(0);
    expect(readFileSync(join(dir, "bundle.jsonl"), "utf8")).toBe(readFileSync(join(dir, "modules.jsonl"), "utf8"));
  });
});

if (!existsSync(bundle)) console.warn(`skipped: ${bundle} is not built (make build)`);
