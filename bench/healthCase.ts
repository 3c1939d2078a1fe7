/**
 * Case L: health latency of a busy scheduler. 200 clients keep it busy (SubmitJob of small jobs,
 * GetJob, ListJobs) while one large synthetic job (100M tokens, resolved on a worker thread) is
 * submitted; a prober sends grpc.health.v1 Check every 10 ms. Reported: health p50 / p99 / max (ms)
 * and the calls the clients completed. The target is p99 ≤ 50 ms (issue 16).
 */
import { Worker } from "node:worker_threads";
import { type Client, credentials, Metadata, makeGenericClientConstructor } from "@grpc/grpc-js";
import { SchedulerClient } from "@servesim/client";
import { Distribution, JobSpec } from "@servesim/wire/scheduler";
import type { Sample } from "./measure.js";
import { startService } from "./services.js";

const CLIENTS = 200;
const DURATION_MS = 8_000;

function healthClient(address: string): Client {
  const Ctor = makeGenericClientConstructor({}, "health");
  return new Ctor(address, credentials.createInsecure());
}

/** One Check of the overall server status (empty request), in ms. */
function check(client: Client): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => (err ? reject(err) : resolve(performance.now() - started)),
    );
  });
}

const small = (i: number) =>
  JobSpec.fromPartial({
    name: `load-${i}`,
    engine: { maxBatchSize: 8, warmup: 0 },
    predictor: { kind: 1, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
    workload: { inline: { requests: [{ taskId: 0, inputLength: 64, outputTokens: 8, inputIds: [] }] } },
  });

const huge = JobSpec.fromPartial({
  name: "huge synthetic",
  engine: { warmup: 0 },
  predictor: { kind: 1 },
  workload: {
    synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests: 100_000, inputMean: 999, inputStdev: 0, outputMean: 1, outputStdev: 0 },
  },
});

/**
 * The prober runs on a worker thread of its own, so the load generator's busy event loop does not
 * count as the server's latency.
 */
const PROBER = `
const { parentPort, workerData } = require("node:worker_threads");
const { credentials, makeGenericClientConstructor, Metadata } = require(workerData.grpc);
const Ctor = makeGenericClientConstructor({}, "health");
const client = new Ctor(workerData.address, credentials.createInsecure());
const end = Date.now() + workerData.durationMs;
const latencies = [];
(async () => {
  while (Date.now() < end) {
    const started = performance.now();
    await new Promise((resolve, reject) => client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b) => b, (b) => b, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 10000 }, (err) => (err ? reject(err) : resolve())));
    latencies.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 10));
  }
  client.close();
  parentPort.postMessage(latencies);
})();
`;

function probeOnWorker(address: string, durationMs: number): Promise<number[]> {
  const grpc = import.meta.resolve("@grpc/grpc-js").replace(/^file:\/\//, "");
  const worker = new Worker(PROBER, { eval: true, workerData: { address, durationMs, grpc } });
  return new Promise((resolve, reject) => {
    worker.once("message", (m: number[]) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once("error", reject);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** p50 / p99 / max of one prober's latencies (ms). */
function percentiles(latencies: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted[sorted.length - 1]!, n: sorted.length };
}

/**
 * One rep against one build: fresh services, 200 clients for DURATION_MS and the huge job, a prober on
 * the scheduler's port and, when the build has one, another on its dedicated health port.
 */
async function oneRep(cliPath: string, healthPort: boolean): Promise<Sample> {
  const predictor = await startService(cliPath, "predictor");
  const scheduler = await startService(cliPath, "scheduler", [
    "--predictor-address",
    predictor.address,
    "--max-queued-jobs",
    "100000",
    "--max-tenant-jobs",
    "100000",
    ...(healthPort ? ["--health-port", "0"] : []),
  ]);
  try {
    const port = scheduler.healthPort;
    const clients = Array.from({ length: 20 }, () => new SchedulerClient({ address: scheduler.address, retries: 0 }));
    // One Check before the load: the connection is up.
    const warm = healthClient(scheduler.address);
    await check(warm);
    warm.close();
    const end = Date.now() + DURATION_MS;
    let calls = 0;
    let errors = 0;
    const worker = async (i: number) => {
      const c = clients[i % clients.length]!;
      while (Date.now() < end) {
        try {
          const job = await c.submitJob(small(i));
          await c.getJob(job.id);
          if (i % 10 === 0) await c.listJobs();
          calls += 2;
        } catch {
          errors++;
        }
      }
    };
    const probers = [probeOnWorker(scheduler.address, DURATION_MS), port === undefined ? Promise.resolve([]) : probeOnWorker(`127.0.0.1:${port}`, DURATION_MS)];
    const big = process.env["BENCH_L_NO_HUGE"] ? Promise.resolve() : clients[0]!.submitJob(huge).catch(() => undefined);
    const [main, dedicated] = await Promise.all([Promise.all(probers), ...Array.from({ length: CLIENTS }, (_, i) => worker(i)), big]).then(([p]) => p);
    for (const c of clients) c.close();
    const m = percentiles(main);
    const out: Sample = { mainP50Ms: m.p50, mainP99Ms: m.p99, mainMaxMs: m.max, probes: m.n, calls, errors };
    // What an orchestrator probes: the dedicated port when there is one, else the service's port.
    const h = dedicated.length > 0 ? percentiles(dedicated) : m;
    return { ...out, healthP50Ms: h.p50, healthP99Ms: h.p99, healthMaxMs: h.max, dedicatedPort: dedicated.length > 0 ? 1 : 0 };
  } finally {
    await scheduler.stop();
    await predictor.stop();
  }
}

const fmt = (s: Sample) =>
  `health p50 ${s["healthP50Ms"]!.toFixed(1)} ms, p99 ${s["healthP99Ms"]!.toFixed(1)} ms, max ${s["healthMaxMs"]!.toFixed(1)} ms` +
  (s["dedicatedPort"]
    ? ` (dedicated port; service port p50 ${s["mainP50Ms"]!.toFixed(1)}, p99 ${s["mainP99Ms"]!.toFixed(1)}, max ${s["mainMaxMs"]!.toFixed(1)} ms)`
    : "") +
  `; ${s["calls"]} calls by ${CLIENTS} clients`;

const median = (samples: Sample[], k: string) => [...samples.map((x) => x[k]!)].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

/**
 * Case L. With BENCH_L_BASELINE_CLI (another build's CLI, e.g. a copied bundle's servesim.js) each rep
 * runs the baseline and then this build, back to back, so both see the same machine load.
 */
export async function healthCaseL(
  cliPath: string,
  repeat: number,
  log: (s: string) => void,
): Promise<{ samples: Sample[]; servicePeakRss: Record<string, number>; notes: string[] }> {
  const baselineCli = process.env["BENCH_L_BASELINE_CLI"];
  const samples: Sample[] = [];
  const baseline: Sample[] = [];
  for (let r = 0; r < repeat; r++) {
    if (baselineCli) {
      // The baseline may predate --health-port.
      baseline.push(await oneRep(baselineCli, false));
      log(`L #${r + 1} baseline: ${fmt(baseline[baseline.length - 1]!)}`);
    }
    samples.push(await oneRep(cliPath, !process.env["BENCH_L_NO_HEALTH_PORT"]));
    log(`L #${r + 1}: ${fmt(samples[samples.length - 1]!)}`);
  }
  const med = (set: Sample[], k: string) => median(set, k).toFixed(1);
  const notes = [
    `${CLIENTS} concurrent clients for ${DURATION_MS / 1000} s plus one 100M-token synthetic job; health Check latency (medians over reps): p50 ${med(samples, "healthP50Ms")} ms, p99 ${med(samples, "healthP99Ms")} ms, max ${med(samples, "healthMaxMs")} ms` +
      (median(samples, "dedicatedPort")
        ? ` on the dedicated health port (service port: p50 ${med(samples, "mainP50Ms")}, p99 ${med(samples, "mainP99Ms")}, max ${med(samples, "mainMaxMs")} ms)`
        : "") +
      `; ${med(samples, "calls")} calls completed`,
  ];
  if (baselineCli) {
    notes.push(
      `baseline ${baselineCli} in the same run, rep by rep: health p50 ${med(baseline, "healthP50Ms")} ms, p99 ${med(baseline, "healthP99Ms")} ms, max ${med(baseline, "healthMaxMs")} ms; ${med(baseline, "calls")} calls; this build / baseline p99 ${(median(samples, "healthP99Ms") / median(baseline, "healthP99Ms")).toFixed(2)}×, service port p99 ${(median(samples, "mainP99Ms") / median(baseline, "mainP99Ms")).toFixed(2)}×`,
    );
  }
  return { samples, servicePeakRss: {}, notes };
}
