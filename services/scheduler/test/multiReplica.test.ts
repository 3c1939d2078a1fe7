/**
 * One scheduler, three predictor replicas on loopback (in-process servers on port 0), the predictor
 * address a comma list of all three. The jobs' PredictStreams are spread over the replicas by the
 * client's round_robin, and losing the replica that serves a running job does not change the job's
 * results: its connections cut (the process dies: UNAVAILABLE), its calls cut by the server (forced
 * shutdown: CANCELLED) or a graceful drain.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { SchedulerClient } from "@servesim/client";
import type { BatchPredictor, SimBatch } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import type { PredictorBuilder } from "@servesim/testkit";
import { type JobSpec, JobState } from "@servesim/wire/scheduler";
import { afterEach, describe, expect, it } from "vitest";
import { embeddedRun, gate, smallJob, startPredictor, startScheduler, type TestPredictor, type TestScheduler } from "./harness.js";

const REPLICAS = 3;

/**
 * A TCP front of one replica: the scheduler connects through it, so cutting its sockets looks to the
 * client exactly like the replica's process dying (the connection drops, new ones are refused).
 */
class TcpFront {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpFront> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new TcpFront(server, sockets, (server.address() as { port: number }).port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

interface Trap {
  /** Holds the Nth prediction counted over all replicas. */
  holdAt: number;
  reached: ReturnType<typeof gate<number>>;
  release: ReturnType<typeof gate<void>>;
}

/** Three replicas behind TCP fronts, with per-replica prediction counters, and a scheduler using them all. */
class Fleet {
  readonly predictions = new Array<number>(REPLICAS).fill(0);
  total = 0;
  trap: Trap | undefined;
  replicas: TestPredictor[] = [];
  fronts: TcpFront[] = [];
  scheduler!: TestScheduler;
  private readonly stopped = new Set<number>();

  static async start(): Promise<Fleet> {
    const fleet = new Fleet();
    fleet.replicas = await Promise.all(Array.from({ length: REPLICAS }, (_, i) => startPredictor({ build: fleet.builder(i) })));
    fleet.fronts = await Promise.all(fleet.replicas.map((r) => TcpFront.start(r.port)));
    fleet.scheduler = await startScheduler(fleet.fronts.map((f) => f.address).join(","));
    return fleet;
  }

  /** The builder of replica `index`: services/perf predictors that count and may hold a prediction. */
  private builder(index: number): PredictorBuilder {
    return async (config) => {
      const inner = await createPredictor(config);
      const counted: BatchPredictor = {
        description: inner.description,
        predict: async (batch: SimBatch) => {
          this.predictions[index]! += 1;
          this.total += 1;
          const trap = this.trap;
          if (trap && this.total === trap.holdAt) {
            trap.reached.open(index);
            await trap.release.promise;
          }
          return inner.predict(batch);
        },
      };
      return counted;
    };
  }

  streamsOpened(i: number): number {
    return this.replicas[i]!.logs.filter((l) => l.msg === "stream opened").length;
  }

  /** Arms a trap `ahead` predictions from now. */
  arm(ahead: number): Trap {
    this.trap = { holdAt: this.total + ahead, reached: gate<number>(), release: gate<void>() };
    return this.trap;
  }

  markStopped(i: number): void {
    this.stopped.add(i);
  }

  async stop(): Promise<void> {
    this.trap?.release.open();
    await this.scheduler?.stop();
    for (const f of this.fronts) f.cut();
    await Promise.all(this.replicas.map((r, i) => (this.stopped.has(i) ? r.handle.closed : r.kill())));
  }
}

async function waitToEnd(client: SchedulerClient, id: string): Promise<string> {
  let state = JobState.JOB_STATE_UNSPECIFIED;
  let error = "";
  for await (const event of client.watchJob(id, { minIntervalMs: 50 })) {
    state = event.job?.state ?? state;
    error = event.job?.error ?? error;
  }
  return error ? `${JobState[state]}: ${error}` : JobState[state];
}

async function runToEnd(client: SchedulerClient, spec: JobSpec) {
  const job = await client.submitJob(spec);
  expect(await waitToEnd(client, job.id)).toBe("JOB_STATE_SUCCEEDED");
  return client.getResult(job.id, { includeRequests: true, includeIterations: true });
}

/**
 * Runs a job, holds its 25th batch on whichever replica prices it, takes that replica away with
 * `loseReplica` while the batch is outstanding, then checks the job against the embedded run.
 */
async function loseReplicaMidJob(fleet: Fleet, loseReplica: (victim: number, release: () => void) => Promise<void>) {
  const spec = smallJob(40, "lose-one");
  const embedded = await embeddedRun(spec);
  expect(embedded.numIterations).toBeGreaterThan(40);
  const trap = fleet.arm(25);
  const opened = fleet.replicas.map((_, i) => fleet.streamsOpened(i));

  const job = await fleet.scheduler.client.submitJob(spec);
  const victim = await trap.reached.promise;
  expect(fleet.streamsOpened(victim)).toBe(opened[victim]! + 1);
  fleet.trap = undefined;
  await loseReplica(victim, () => trap.release.open());
  fleet.markStopped(victim);

  expect(await waitToEnd(fleet.scheduler.client, job.id)).toBe("JOB_STATE_SUCCEEDED");
  const out = await fleet.scheduler.client.getResult(job.id, { includeRequests: true, includeIterations: true });
  expect(out.result.numIterations).toBe(embedded.numIterations);
  expect(out.requests).toEqual(embedded.requests);
  expect(out.iterations).toEqual(embedded.iterations);
  // The job went on over a new stream on a surviving replica.
  const resumed = fleet.replicas.map((_, i) => (i === victim ? 0 : fleet.streamsOpened(i) - opened[i]!));
  expect(resumed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  return { victim };
}

describe("scheduler with three predictor replicas", () => {
  let fleet: Fleet | undefined;

  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it("spreads the jobs' streams over every replica, each batch priced once", async () => {
    fleet = await Fleet.start();
    const specs = Array.from({ length: 6 }, (_, i) => smallJob(8 + i, `spread-${i}`));
    let iterations = 0;
    for (const spec of specs) {
      const out = await runToEnd(fleet.scheduler.client, spec);
      const embedded = await embeddedRun(spec);
      expect(out.requests).toEqual(embedded.requests);
      expect(out.iterations).toEqual(embedded.iterations);
      iterations += embedded.numIterations;
    }
    const streams = fleet.replicas.map((_, i) => fleet!.streamsOpened(i));
    // One PredictStream per job, round-robin over the replicas, no reconnects.
    expect(streams.reduce((a, b) => a + b, 0)).toBe(specs.length);
    for (const [i, n] of streams.entries()) expect(n, `streams on replica ${i} (all: ${streams.join(", ")})`).toBeGreaterThan(0);
    for (const [i, n] of fleet.predictions.entries()) expect(n, `predictions on replica ${i}`).toBeGreaterThan(0);
    expect(fleet.total).toBe(iterations);
  });

  it("a replica whose connections drop mid-job (process death) does not change the job's results", async () => {
    fleet = await Fleet.start();
    const f = fleet;
    await loseReplicaMidJob(f, async (victim, release) => {
      f.fronts[victim]!.cut();
      release();
      await f.replicas[victim]!.kill();
    });
    expect(f.scheduler.logs.some((l) => l.msg === "predictor stream failed; reconnecting" && l.code === "UNAVAILABLE")).toBe(true);
  });

  it("a replica that cuts its calls mid-job (forced shutdown, CANCELLED) does not change the job's results", async () => {
    fleet = await Fleet.start();
    const f = fleet;
    await loseReplicaMidJob(f, async (victim, release) => {
      f.replicas[victim]!.handle.forceShutdown();
      release();
      await f.replicas[victim]!.handle.closed;
    });
    expect(f.scheduler.logs.some((l) => l.msg === "predictor stream failed; reconnecting" && l.code === "CANCELLED")).toBe(true);
  });

  it("a replica drained mid-job (graceful shutdown) does not change the job's results", async () => {
    fleet = await Fleet.start();
    const f = fleet;
    await loseReplicaMidJob(f, async (victim, release) => {
      const stopped = f.replicas[victim]!.handle.shutdown("test drain");
      // The drain answers the outstanding batch, then ends the stream with UNAVAILABLE.
      release();
      await stopped;
    });
  });
});
