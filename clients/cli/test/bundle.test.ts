import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { tinyTokenizerJson } from "@servesim/testkit";
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

  it("keeps one code cache per command, runs the same from it, replaces a cache V8 rejects and drops other builds' caches", async () => {
    const cache = join(dir, "cache");
    const env = { ...process.env, SERVESIM_CACHE_DIR: cache };
    const data = join(dir, "c.jsonl");
    writeFileSync(data, '{"input_length":64,"output_length":4}\n{"input_length":8,"output_length":3}\n');
    const args = ["throughput", "--dataset", data, "-m", "llama-3.1-8b", "--predictor", "constant", "--warmup", "0", "-q"];
    const json = (n: string) => ["--request-json", join(dir, `${n}.jsonl`)];
    await run(process.execPath, [bundle, ...args, ...json("cold")], { env });
    const files = readdirSync(join(cache, "code"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-throughput\.v8$/);
    const file = join(cache, "code", files[0]!);
    const written = statSync(file).mtimeMs;
    await run(process.execPath, [bundle, ...args, ...json("cached")], { env });
    expect(statSync(file).mtimeMs).toBe(written);
    writeFileSync(file, "not a code cache");
    const otherBuild = join(cache, "code", files[0]!.replace(/^[0-9a-f]{16}/, "0".repeat(16)));
    writeFileSync(otherBuild, "a cache of another build");
    await run(process.execPath, [bundle, ...args, ...json("rejected")], { env });
    expect(statSync(file).size).toBeGreaterThan(1000);
    expect(existsSync(otherBuild)).toBe(false);
    const cold = readFileSync(join(dir, "cold.jsonl"), "utf8");
    expect(readFileSync(join(dir, "cached.jsonl"), "utf8")).toBe(cold);
    expect(readFileSync(join(dir, "rejected.jsonl"), "utf8")).toBe(cold);
    await run(process.execPath, [bundle, "--version"], { env });
    expect(readdirSync(join(cache, "code")).sort()).toEqual([files[0], files[0]!.replace(/-throughput\.v8$/, "--.v8")].sort());
  });

  it("loads the packages it imports on demand from cached code too (prepare-dataset sharegpt imports its JSON parser)", async () => {
    const env = { ...process.env, SERVESIM_CACHE_DIR: join(dir, "cache-import") };
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
    const conversations = [
      {
        id: "a",
        conversations: [
          { from: "human", value: "hello world" },
          { from: "gpt", value: "Hi! well" },
        ],
      },
    ];
    writeFileSync(join(dir, "sharegpt.json"), JSON.stringify(conversations));
    const args = ["prepare-dataset", "sharegpt", "--input", join(dir, "sharegpt.json"), "--tokenizer", join(dir, "tokenizer.json")];
    const outputs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await run(process.execPath, [bundle, ...args], { env });
      expect(r.stderr).toBe("wrote 1 requests from 1 conversations\n");
      outputs.push(r.stdout);
    }
    expect(outputs[0]).toBe('{"task_id":0,"input_ids":[261,259,260,111,114,108,100],"output_tokens":7}\n');
    expect(outputs[1]).toBe(outputs[0]);
    expect(readdirSync(join(dir, "cache-import", "code"))).toHaveLength(1);
  });
});

if (!existsSync(bundle)) console.warn(`skipped: ${bundle} is not built (make build)`);
