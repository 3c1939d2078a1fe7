import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCachedDataset } from "../src/datasetCache.js";
import { buildJobSpec } from "../src/jobSpec.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const cache = join(dir, "cache");

function dataset(name: string, n: number, osl: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `${Array.from({ length: n }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: 30 + i }, (_, k) => i * 100 + k), output_tokens: osl })).join("\n")}\n`,
  );
  return path;
}

describe("the parsed-dataset cache", () => {
  it("a second run reads the parse back: the same report; a changed or corrupt entry is parsed again", async () => {
    process.env["SERVESIM_CACHE_DIR"] = cache;
    const file = dataset("d.jsonl", 20, 5);
    const args = ["throughput", "--dataset", file, "-m", "llama-3.1-8b", "--gpu", "h100_sxm", "--report-json"];
    const noWall = (s: string) => s.replace(/^Wall Time.*$/m, "");
    const first = await runCli([...args, join(dir, "1.json")]);
    expect(first.code).toBe(0);
    const entries = readdirSync(join(cache, "datasets"));
    expect(entries).toHaveLength(1);
    const spec = buildJobSpec({ dataset: file, model: "llama-3.1-8b", gpu: "h100_sxm", iterationLogFormat: "repr" } as never).spec;
    const parsed = readCachedDataset(spec, file, cache)!;
    expect(parsed.requests).toHaveLength(20);
    // Prompts are kept as their prefix-cache block keys (one full 32-token block for these 30..49-token prompts).
    expect(parsed.requests.map((r) => r.blocks?.keys.length ?? 0)).toEqual(Array.from({ length: 20 }, (_, i) => Math.floor((30 + i) / 32)));
    expect(parsed.metadata.datasetPath).toBe(file);
    const second = await runCli([...args, join(dir, "2.json")]);
    expect(noWall(second.stdout)).toBe(noWall(first.stdout));
    // The same size, other content: a new entry, the new lengths.
    dataset("d.jsonl", 20, 6);
    const third = await runCli([...args, join(dir, "3.json")]);
    expect(JSON.parse(readFileSync(join(dir, "3.json"), "utf8")).request_info.avg_output_length).toBe(6);
    expect(third.code).toBe(0);
    // A corrupt entry is ignored.
    for (const e of readdirSync(join(cache, "datasets"))) writeFileSync(join(cache, "datasets", e), "garbage");
    const fourth = await runCli([...args, join(dir, "4.json")]);
    expect(noWall(fourth.stdout)).toBe(noWall(third.stdout));
    // --no-dataset-cache and the scheduler modes never read it; --num-requests applies to a cached parse.
    const some = await runCli([...args, join(dir, "5.json"), "--num-requests", "7"]);
    expect(JSON.parse(readFileSync(join(dir, "5.json"), "utf8")).request_info.num_requests).toBe(7);
    expect(some.code).toBe(0);
  });
});
