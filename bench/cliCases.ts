/**
 * Cases H and G: the CLI as a user runs it, each run a new process.
 *   H: case A from the command line: `servesim throughput` on a 10,000-request ISL/OSL 1000 dataset
 *      (62 MB), Llama-3.1-8B fp8 on H100, max_batch_size 512, chunked context, roofline; the dataset's
 *      parse comes from the CLI's cache after the first run (which is timed apart).
 *   G: `servesim sweep` of 1,000 A-sized points (10,000 requests of ISL/OSL 1000 each) on local worker
 *      threads, one per core.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Sample } from "./measure.js";

/** Runs the CLI; resolves with the wall time in ms (and fails on a non-zero exit). */
export function runCliTimed(cli: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`servesim ${args[0]} exited ${code}: ${err.slice(-1000)}`))));
  });
}

/** Wall time of `node -e 0`. */
function nodeStartMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.on("exit", (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`node -e 0 exited ${code}`))));
  });
}

/**
 * Instructions executed by `node args` (every thread), counted by valgrind's callgrind: unlike wall or CPU
 * time it hardly moves with the machine's load. Undefined when valgrind is not installed.
 */
function instructionCount(args: string[], env: Record<string, string>): number | undefined {
  const r = spawnSync("valgrind", ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) return undefined;
  if (r.status !== 0) throw new Error(`valgrind node ${args[0]} exited ${r.status}: ${r.stderr.toString().slice(-1000)}`);
  const m = /Collected : (\d+)/.exec(r.stderr.toString());
  return m ? Number(m[1]) : undefined;
}

const A_FLAGS = [
  "-m",
  "nvidia/Llama-3.1-8B-Instruct-FP8",
  "--gpu",
  "h100_sxm",
  "--max_batch_size",
  "512",
  "--max_num_tokens",
  "8192",
  "--enable_chunked_context",
  "-q",
];

export async function cliCaseA(cli: string, repeat: number, log: (s: string) => void, instructions = false): Promise<{ samples: Sample[]; notes: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "servesim-bench-h-"));
  try {
    const env = { SERVESIM_CACHE_DIR: join(dir, "cache") };
    const dataset = join(dir, "a.jsonl");
    await runCliTimed(
      cli,
      [
        "prepare-dataset",
        "token-norm-dist",
        "--num-requests",
        "10000",
        "--input-mean",
        "1000",
        "--input-stdev",
        "0",
        "--output-mean",
        "1000",
        "--output-stdev",
        "0",
        "--output",
        dataset,
      ],
      env,
    );
    const reportJson = join(dir, "report.json");
    const first = await runCliTimed(cli, ["throughput", "--dataset", dataset, ...A_FLAGS, "--report-json", reportJson], env);
    // The run's own count, so the table cannot drift from what the engine now does.
    const iterations = Number(JSON.parse(readFileSync(reportJson, "utf8")).sim.num_iterations);
    const uncached = await runCliTimed(cli, ["throughput", "--dataset", dataset, "--no-dataset-cache", ...A_FLAGS], env);
    log(`  H first run (parse + cache write): ${first.toFixed(0)} ms; without the cache: ${uncached.toFixed(0)} ms`);
    // The bundled CLI (make build writes it) is what case H times; the unbundled dist/main.js runs beside it.
    const bundle = resolve(dirname(cli), "..", "bundle", "servesim.js");
    const timed = existsSync(bundle) ? bundle : cli;
    const samples: Sample[] = [];
    for (let i = 0; i < repeat; i++) {
      const ms = await runCliTimed(timed, ["throughput", "--dataset", dataset, ...A_FLAGS], env);
      const unbundled = timed === cli ? ms : await runCliTimed(cli, ["throughput", "--dataset", dataset, ...A_FLAGS], env);
      // The machine's state at that moment: a bare Node start (about 40 ms on an idle core).
      const bare = await nodeStartMs();
      log(`  H #${i + 1}: totalMs=${ms.toFixed(1)} (unbundled ${unbundled.toFixed(1)} ms, bare node start ${bare.toFixed(0)} ms)`);
      samples.push({ totalMs: ms, unbundledMs: unbundled, firstRunMs: first, uncachedMs: uncached, nodeStartMs: bare, iterations });
    }
    const counted: string[] = [];
    if (instructions) {
      const run = instructionCount([timed, "throughput", "--dataset", dataset, ...A_FLAGS], env);
      const bare = instructionCount(["-e", "0"], {});
      if (run === undefined || bare === undefined) counted.push("--instructions: valgrind is not installed, nothing counted");
      else {
        log(`  H instructions (callgrind): ${run} (bare node -e 0: ${bare})`);
        counted.push(
          `instructions of one run (valgrind callgrind, all threads): ${(run / 1e9).toFixed(2)} G; a bare \`node -e 0\`: ${(bare / 1e9).toFixed(2)} G`,
        );
        // Node parses NODE_EXTRA_CA_CERTS at every start, before any script: part of every count above when set.
        if (process.env["NODE_EXTRA_CA_CERTS"]) {
          const plain = instructionCount(["-e", "0"], { NODE_EXTRA_CA_CERTS: "" });
          if (plain !== undefined)
            counted.push(
              `NODE_EXTRA_CA_CERTS is set: a bare \`node -e 0\` without it is ${(plain / 1e9).toFixed(2)} G, so ${((bare - plain) / 1e9).toFixed(2)} G of each count is that file's parse`,
            );
        }
      }
    }
    const median = (key: string) => [...samples.map((s) => s[key]!)].sort((a, b) => a - b)[samples.length >> 1]!;
    return {
      samples,
      notes: [
        `${timed === cli ? "no bundle (run make build): the unbundled CLI" : "clients/cli/bundle/servesim.js"}; the unbundled clients/cli/dist/main.js took ` +
          `${Math.round(median("unbundledMs"))} ms (median, run alternately); first run, parsing the dataset and writing the cache: ${Math.round(first)} ms; ` +
          `with --no-dataset-cache: ${Math.round(uncached)} ms; a bare \`node -e 0\` took ${Math.round(median("nodeStartMs"))} ms (median) beside these runs`,
        ...counted,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Case G's sweep file: 5 TP × 2 KV fractions × 10 batch sizes × 10 token budgets = 1,000 points. */
export const SWEEP_G = `name: bench G
model: llama-3.1-8b
gpu: h100_sxm
quantization: fp8
kv_cache_dtype: fp8
enable_chunked_context: true
workload:
  synthetic: { num_requests: 10000, isl: 1000, osl: 1000 }
grid:
  tp: [1, 2, 4, 8, 16]
  kv_cache_free_gpu_mem_fraction: [0.5, 0.9]
  max_batch_size: [64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048]
  max_num_tokens: [2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 65536]
`;

export async function sweepCaseG(cli: string, repeat: number, log: (s: string) => void): Promise<{ samples: Sample[]; notes: string[] }> {
  const samples: Sample[] = [];
  for (let i = 0; i < repeat; i++) {
    const dir = mkdtempSync(join(tmpdir(), "servesim-bench-g-"));
    try {
      writeFileSync(join(dir, "g.yaml"), SWEEP_G);
      const ms = await runCliTimed(cli, ["sweep", "--space", join(dir, "g.yaml"), "-o", join(dir, "out"), "-q", "--top", "0"], {});
      log(`  G #${i + 1}: totalMs=${ms.toFixed(0)}`);
      samples.push({ totalMs: ms, points: 1000, perPointMs: ms / 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { samples, notes: [] };
}
