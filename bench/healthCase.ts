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

export async function healthCaseL(
  cliPath: string,
  repeat: number,
  log: (s: string) => void,
): Promise<{ samples: Sample[]; servicePeakRss: Record<string, number>; notes: string[] }> {
  const predictor = await startService(cliPath, "predictor");
  const scheduler = await startService(cliPath, "scheduler", [
    "--predictor-address",
    predictor.address,
    "--max-queued-jobs",
    "100000",
    "--max-tenant-jobs",
    "100000",
  ]);
  const samples: Sample[] = [];
  try {
    for (let r = 0; r < repeat; r++) {
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
      const prober = probeOnWorker(scheduler.address, DURATION_MS);
      const big = process.env["BENCH_L_NO_HUGE"] ? Promise.resolve() : clients[0]!.submitJob(huge).catch(() => undefined);
      const [latencies] = await Promise.all([prober, ...Array.from({ length: CLIENTS }, (_, i) => worker(i)), big]);
      for (const c of clients) c.close();
      latencies.sort((a, b) => a - b);
      const s = {
        healthP50Ms: pct(latencies, 50),
        healthP99Ms: pct(latencies, 99),
        healthMaxMs: latencies[latencies.length - 1]!,
        probes: latencies.length,
        calls,
        errors,
      };
      log(
        `L #${r + 1}: health p50 ${s.healthP50Ms.toFixed(1)} ms, p99 ${s.healthP99Ms.toFixed(1)} ms, max ${s.healthMaxMs.toFixed(1)} ms; ${calls} calls by ${CLIENTS} clients`,
      );
      samples.push(s);
    }
  } finally {
    await scheduler.stop();
    await predictor.stop();
  }
  const med = (k: string) => [...samples.map((x) => x[k]!)].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!.toFixed(1);
  return {
    samples,
    servicePeakRss: {},
    notes: [
      `${CLIENTS} concurrent clients for ${DURATION_MS / 1000} s plus one 100M-token synthetic job; health Check latency (medians over reps): p50 ${med("healthP50Ms")} ms, p99 ${med("healthP99Ms")} ms, max ${med("healthMaxMs")} ms; ${med("calls")} calls completed`,
    ],
  };
}
