/**
 * Case P: reading a trtllm-bench dataset file (JSONL, 1,024-token prompts), as `servesim throughput
 * --dataset` does it: streamed from disk, prompts hashed into prefix-cache block keys (32 tokens per
 * block), only lengths and keys kept. The file is written once per size into the OS temp directory.
 */
import { once } from "node:events";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDatasetFile } from "@servesim/workload";
import { collectGarbage, type Sample, timed } from "./measure.js";

const ISL = 1024;

/** A dataset of `n` requests with 1,024 pseudo-random ids below 128,000 each (about 6.6 KB a line). */
export async function datasetFile(n: number): Promise<string> {
  const path = join(tmpdir(), `servesim-bench-parse-${n}x${ISL}.jsonl`);
  if (existsSync(path) && statSync(path).size > n * ISL * 3) return path;
  const out = createWriteStream(`${path}.tmp`);
  let x = 0x9e3779b9;
  const ids = new Array<number>(ISL);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ISL; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      ids[k] = (x >>> 0) % 128_000;
    }
    if (!out.write(`{"task_id":${i},"input_ids":[${ids.join(",")}],"output_tokens":128}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const { renameSync } = await import("node:fs");
  renameSync(`${path}.tmp`, path);
  return path;
}

export async function parseSample(path: string): Promise<Sample> {
  collectGarbage();
  const bytes = statSync(path).size;
  const { ms, value } = await timed(() => loadDatasetFile(path, { tokensPerBlock: 32 }));
  return { totalMs: ms, parseMs: ms, mbPerS: bytes / 1e6 / (ms / 1000), requests: value.requests.length, fileMB: bytes / 1e6 };
}
