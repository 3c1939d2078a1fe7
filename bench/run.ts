/**
 * servesim's simulation-speed benchmark (`make bench`). Every case runs in its own child process (a
 * fresh heap, its own peak RSS), several times; the parent prints medians, rates and the ratios between
 * cases of this run as Markdown (bench/RESULTS.md explains the cases and keeps the reference figures).
 *
 *   node bench/dist/run.js                      all cases (H and G run the CLI as new processes)
 *   node bench/dist/run.js --cases A,B --repeat 3
 *   node bench/dist/run.js --quick              2 repetitions, smaller case F
 *   node bench/dist/run.js --cases D --no-d-report   D's simulation only
 *   node bench/dist/run.js --write bench/latest.md
 *   node bench/dist/run.js --cases H --instructions   H also counts instructions (valgrind): load-independent
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { adpBenchSpec, benchSpec, clusterBenchSpec, moeBenchSpec, ppAdpBenchSpec, SHAPES } from "./cases.js";
import { type CaseResult, load, type Sample, selfPeakRss } from "./measure.js";
import { renderMarkdown } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI (this file is bench/dist/run.js). */
const cliPath = resolve(here, "..", "..", "clients", "cli", "dist", "main.js");

interface CaseDef {
  id: string;
  title: string;
  repeat: number;
  run(repeat: number, flags: Flags): Promise<Omit<CaseResult, "id" | "title" | "peakRssBytes" | "loadBefore" | "loadAfter">>;
}

interface Flags {
  cases: string[];
  repeat?: number;
  quick: boolean;
  write?: string;
  child?: string;
  /** Time case D's metrics + reports too (default; --no-d-report skips them). */
  dReport: boolean;
  /** Case H also counts the instructions of one run under valgrind (callgrind): minutes, but load-independent. */
  instructions: boolean;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    cases: ["A", "B", "C", "D", "E", "F", "S", "P", "Q", "M", "W", "V", "H", "G", "K", "R"],
    quick: false,
    dReport: true,
    instructions: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--cases")
      f.cases = value()
        .split(",")
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
    else if (a === "--repeat") f.repeat = Number(value());
    else if (a === "--quick") f.quick = true;
    else if (a === "--write") f.write = value();
    else if (a === "--child") f.child = value();
    else if (a === "--d-report") f.dReport = true;
    else if (a === "--no-d-report") f.dReport = false;
    else if (a === "--instructions") f.instructions = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: node bench/dist/run.js [--cases A,B,C,D,E,F,S,P,Q,M,W,V,H,L,G,K,R] [--repeat N] [--quick] [--no-d-report] [--instructions] [--write FILE]\n",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (f.repeat !== undefined && (!Number.isInteger(f.repeat) || f.repeat < 1)) throw new Error("--repeat must be an integer >= 1");
  return f;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function repeatSamples(n: number, id: string, one: (i: number) => Promise<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const s = await one(i);
    log(
      `  ${id} #${i + 1}: ${Object.entries(s)
        .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`)
        .join(" ")}`,
    );
    out.push(s);
  }
  return out;
}

const CASES: CaseDef[] = [
  {
    id: "A",
    title: "10,000 requests, ISL 1000 / OSL 1000, embedded",
    repeat: 5,
    async run(n) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = benchSpec("bench A", SHAPES.A);
      return { samples: await repeatSamples(n, "A", () => embeddedSample(spec, { report: true, plain: true })), servicePeakRss: {}, notes: [] };
    },
  },
  {
    id: "B",
    title: "case A, predictor service in another process (loopback gRPC)",
    repeat: 5,
    async run(n) {
      const { remotePredictorSample } = await import("./jobCases.js");
      const { resolveJob } = await import("@servesim/runner");
      const { startService } = await import("./services.js");
      const spec = benchSpec("bench B", SHAPES.A);
      const job = await resolveJob(spec);
      const predictor = await startService(cliPath, "predictor");
      try {
        const samples = await repeatSamples(n, "B", (i) => remotePredictorSample(spec, job, predictor.address, i === 0));
        return { samples, servicePeakRss: { predictor: predictor.peakRss() ?? Number.NaN }, notes: [] };
      } finally {
        await predictor.stop();
      }
    },
  },
  {
    id: "C",
    title: "case A as a scheduler job (client → scheduler → predictor)",
    repeat: 5,
    async run(n) {
      const { schedulerSample } = await import("./jobCases.js");
      const { startService } = await import("./services.js");
      const spec = benchSpec("bench C", SHAPES.A);
      const predictor = await startService(cliPath, "predictor");
      try {
        const scheduler = await startService(cliPath, "scheduler", ["--predictor-address", predictor.address]);
        try {
          const samples = await repeatSamples(n, "C", () => schedulerSample(spec, scheduler.address));
          return {
            samples,
            servicePeakRss: { scheduler: scheduler.peakRss() ?? Number.NaN, predictor: predictor.peakRss() ?? Number.NaN },
            notes: [],
          };
        } finally {
          await scheduler.stop();
        }
      } finally {
        await predictor.stop();
      }
    },
  },
  {
    id: "D",
    title: "1,000,000 requests, ISL 128 / OSL 128, embedded",
    repeat: 3,
    async run(n, flags) {
      const { largeSimulationSample } = await import("./jobCases.js");
      const { resolveJob } = await import("@servesim/runner");
      const { timed } = await import("./measure.js");
      const spec = benchSpec("bench D", SHAPES.D);
      const resolved = await timed(() => resolveJob(spec));
      log(`  D resolve: ${resolved.ms.toFixed(0)} ms`);
      const samples = await repeatSamples(n, "D", () => largeSimulationSample(resolved.value, flags.dReport));
      for (const s of samples) s.resolveMs = resolved.ms;
      return { samples, servicePeakRss: {}, notes: flags.dReport ? [] : ["metrics + reports not timed (--no-d-report)"] };
    },
  },
  {
    id: "E",
    title: "Poisson 40 req/s, 5,000 requests, ISL 512 / OSL 256, embedded",
    repeat: 5,
    async run(n) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = benchSpec("bench E", SHAPES.E);
      return { samples: await repeatSamples(n, "E", () => embeddedSample(spec, { report: true, plain: true })), servicePeakRss: {}, notes: [] };
    },
  },
  {
    id: "F",
    title: "predictor service alone, 64-request decode batches",
    repeat: 3,
    async run(n, flags) {
      const { predictorSample } = await import("./predictorThroughput.js");
      const { resolveJob } = await import("@servesim/runner");
      const { startService } = await import("./services.js");
      const job = await resolveJob(benchSpec("bench F", { numRequests: 1, isl: 16, osl: 1 }));
      const predictor = await startService(cliPath, "predictor");
      try {
        const samples = await repeatSamples(n, "F", () => predictorSample(predictor.address, job.predictor.config, flags.quick ? 0.25 : 1));
        return { samples, servicePeakRss: { predictor: predictor.peakRss() ?? Number.NaN }, notes: [] };
      } finally {
        await predictor.stop();
      }
    },
  },
  {
    id: "K",
    title: "72-GPU GB200 NVL72 disaggregated DeepSeek-R1 (2 prefill × TP4, 8 decode × TP8), 200,000 requests ISL 1024 / OSL 1024, embedded",
    repeat: 3,
    async run(n, flags) {
      const { clusterSample } = await import("./jobCases.js");
      const spec = clusterBenchSpec(flags.quick ? 20_000 : 200_000);
      return { samples: await repeatSamples(n, "K", () => clusterSample(spec)), servicePeakRss: {}, notes: flags.quick ? ["--quick: 20,000 requests"] : [] };
    },
  },
  {
    id: "R",
    title:
      "cluster pricing: 8-instance aggregated and 2 + 6 disaggregated Llama-3.1-8B H100 clusters, predictor service in another process, sequential vs pipelined",
    repeat: 3,
    async run(n) {
      const { clusterPricingSample } = await import("./clusterPricing.js");
      const { startService } = await import("./services.js");
      const predictor = await startService(cliPath, "predictor");
      try {
        // A first pass, not counted: the predictor service's and this process's JIT warm up.
        await clusterPricingSample(predictor.address, 0);
        const samples = await repeatSamples(n, "R", (i) => clusterPricingSample(predictor.address, i));
        return { samples, servicePeakRss: { predictor: predictor.peakRss() ?? Number.NaN }, notes: ["one uncounted pass first (JIT warm-up)"] };
      } finally {
        await predictor.stop();
      }
    },
  },
  {
    id: "P",
    title: "dataset read: 24,576 requests of 1,024 tokens (trtllm-bench JSONL, about 160 MB), block keys hashed",
    repeat: 5,
    async run(n) {
      const { datasetFile, parseSample } = await import("./datasetParse.js");
      const path = await datasetFile(24_576);
      return { samples: await repeatSamples(n, "P", () => parseSample(path)), servicePeakRss: {}, notes: [] };
    },
  },
  {
    id: "Q",
    title: "case P with a quarter of the file (6,144 requests): memory against file size",
    repeat: 3,
    async run(n) {
      const { datasetFile, parseSample } = await import("./datasetParse.js");
      const path = await datasetFile(6_144);
      return { samples: await repeatSamples(n, "Q", () => parseSample(path)), servicePeakRss: {}, notes: [] };
    },
  },
  {
    id: "S",
    title: "linearity: case A with 40,000 requests, embedded",
    repeat: 2,
    async run(n) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = benchSpec("bench A40k", SHAPES.A40k);
      return { samples: await repeatSamples(n, "S", () => embeddedSample(spec, { report: true, plain: false })), servicePeakRss: {}, notes: [] };
    },
  },
  {
    id: "M",
    title: "DeepSeek-R1 NVFP4, B200 TP8 EP8, 100,000 requests, ISL 1024 / OSL 2048, concurrency 7,168, embedded",
    repeat: 2,
    async run(n, flags) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = moeBenchSpec(flags.quick ? 20_000 : 100_000);
      return {
        samples: await repeatSamples(n, "M", () => embeddedSample(spec, { report: true, plain: false })),
        servicePeakRss: {},
        notes: flags.quick ? ["--quick: 20,000 requests"] : [],
      };
    },
  },
  {
    id: "W",
    title: "DeepSeek-R1 NVFP4, B200 TP8 EP8 attention DP (896 per rank), 100,000 requests, ISL 1024 / OSL 2048, concurrency 7,168, embedded",
    repeat: 2,
    async run(n, flags) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = adpBenchSpec(flags.quick ? 20_000 : 100_000);
      return {
        samples: await repeatSamples(n, "W", () => embeddedSample(spec, { report: true, plain: false })),
        servicePeakRss: {},
        notes: flags.quick ? ["--quick: 20,000 requests"] : [],
      };
    },
  },
  {
    id: "V",
    title: "case W with PP 2 (TP8 EP8 attention DP × PP2, 896 per rank and slot), 100,000 requests, ISL 1024 / OSL 2048, concurrency 7,168, embedded",
    repeat: 2,
    async run(n, flags) {
      const { embeddedSample } = await import("./jobCases.js");
      const spec = ppAdpBenchSpec(flags.quick ? 20_000 : 100_000);
      return {
        samples: await repeatSamples(n, "V", () => embeddedSample(spec, { report: true, plain: false })),
        servicePeakRss: {},
        notes: flags.quick ? ["--quick: 20,000 requests"] : [],
      };
    },
  },
  {
    id: "H",
    title: "case A from the CLI: a new process, dataset parse from the cache",
    repeat: 5,
    async run(n, flags) {
      const { cliCaseA } = await import("./cliCases.js");
      return { ...(await cliCaseA(cliPath, n, log, flags.instructions)), servicePeakRss: {} };
    },
  },
  {
    id: "L",
    title: "scheduler health latency under load: 200 clients and a 100M-token synthetic job (target p99 ≤ 50 ms)",
    repeat: 3,
    async run(n) {
      const { healthCaseL } = await import("./healthCase.js");
      return healthCaseL(cliPath, n, log);
    },
  },
  {
    id: "G",
    title: "servesim sweep: 1,000 points of A-sized workloads, worker threads",
    repeat: 1,
    async run(n) {
      const { sweepCaseG } = await import("./cliCases.js");
      return { ...(await sweepCaseG(cliPath, n, log)), servicePeakRss: {} };
    },
  },
];

async function runChild(id: string, flags: Flags): Promise<void> {
  const def = CASES.find((c) => c.id === id);
  if (!def) throw new Error(`unknown case ${id}`);
  const loadBefore = load();
  const repeat = flags.repeat ?? (flags.quick ? Math.min(2, def.repeat) : def.repeat);
  const r = await def.run(repeat, flags);
  const result: CaseResult = { id, title: def.title, ...r, peakRssBytes: selfPeakRss(), loadBefore, loadAfter: load() };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

function spawnChild(id: string, argv: string[]): Promise<CaseResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), ...argv, "--child", id], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code === 0 && line) resolvePromise(JSON.parse(line.slice("BENCH_RESULT ".length)) as CaseResult);
      else reject(new Error(`case ${id} failed (exit ${code ?? signal})${out ? `: ${out.slice(-2000)}` : ""}`));
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv);
  if (flags.child) return runChild(flags.child, flags);
  const childArgs = argv.filter((a, i) => a !== "--write" && argv[i - 1] !== "--write");
  const results: CaseResult[] = [];
  const failures: string[] = [];
  const started = new Date();
  const loadAtStart = load();
  for (const id of flags.cases) {
    if (!CASES.some((c) => c.id === id)) throw new Error(`unknown case ${id} (${CASES.map((c) => c.id).join(", ")})`);
    log(`case ${id} (load ${load().join(" ")})`);
    try {
      results.push(await spawnChild(id, childArgs));
    } catch (err) {
      failures.push(`${id}: ${(err as Error).message}`);
      log(`case ${id} FAILED: ${(err as Error).message}`);
    }
  }
  const md = renderMarkdown(results, { started, loadAtStart, loadAtEnd: load(), command: `node bench/dist/run.js ${argv.join(" ")}`.trim(), failures });
  process.stdout.write(md);
  if (flags.write) writeFileSync(flags.write, md);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
