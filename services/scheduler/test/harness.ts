/** Real predictor and scheduler servers on ephemeral ports, plus job specs and gates for the tests. */
import { type ChannelCredentials, type Client, type ClientReadableStream, credentials, loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { SchedulerClient } from "@servesim/client";
import { createPredictor } from "@servesim/perf";
import { resolveJob, runResolvedJob } from "@servesim/runner";
import { healthProtoPath } from "@servesim/server-common";
import { type LogLine, memoryLogger, startPredictor, type TestPredictor, testDataRoots } from "@servesim/testkit";
import { iterationToWire, requestToWire } from "@servesim/wire";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { type DeepPartial, type EngineConfig, type IterationRecord, JobSpec, type RequestRecord, type Workload } from "@servesim/wire/scheduler";
import { afterAll, beforeAll } from "vitest";
import { loadSchedulerServerConfig } from "../src/config.js";
import { type SchedulerServer, startSchedulerServer } from "../src/server.js";

export { constantConfig, gate, holdingBuilder, type LogLine, startPredictor, type TestPredictor } from "@servesim/testkit";

export interface TestScheduler {
  server: SchedulerServer;
  client: SchedulerClient;
  logs: LogLine[];
  stop(): Promise<void>;
}

export async function startScheduler(predictorAddress: string, env: Record<string, string> = {}): Promise<TestScheduler> {
  const config = loadSchedulerServerConfig({
    env: {
      SERVESIM_HOST: "127.0.0.1",
      SERVESIM_PORT: "0",
      SERVESIM_PREDICTOR_ADDRESS: predictorAddress,
      SERVESIM_GRACE_MS: "5000",
      SERVESIM_DATA_ROOT: testDataRoots(),
      ...env,
    },
  });
  const logs: LogLine[] = [];
  const server = await startSchedulerServer(config, memoryLogger("scheduler", logs));
  const client = new SchedulerClient({ address: `127.0.0.1:${server.port}`, retries: 0 });
  return {
    server,
    client,
    logs,
    async stop() {
      client.close();
      await server.shutdown("test over");
    },
  };
}

export interface ServerPair {
  readonly predictor: TestPredictor;
  readonly scheduler: TestScheduler;
}

/** A predictor and a scheduler that uses it, started before the enclosing describe block's tests and stopped after them. */
export function predictorAndScheduler(): ServerPair {
  const pair = {} as { predictor: TestPredictor; scheduler: TestScheduler };
  beforeAll(async () => {
    pair.predictor = await startPredictor();
    pair.scheduler = await startScheduler(pair.predictor.address);
  });
  afterAll(async () => {
    await pair.scheduler?.stop();
    await pair.predictor?.kill();
  });
  return pair;
}

export interface SpecParts {
  name?: string;
  engine?: Partial<EngineConfig>;
  predictor?: Partial<PredictorConfig>;
  workload?: DeepPartial<Workload>;
  modelPath?: string;
}

export const jobSpec = (parts: SpecParts): JobSpec => JobSpec.fromPartial(parts as never);

export function inlineWorkload(rows: ReadonlyArray<{ input: number; output: number; taskId?: number }>): Workload {
  return { inline: { requests: rows.map((r, i) => ({ taskId: r.taskId ?? i, inputLength: r.input, outputTokens: r.output, inputIds: [] })) } };
}

/** `n` requests with varied lengths (deterministic). */
export function variedRequests(n: number, seed = 1): Array<{ input: number; output: number }> {
  return Array.from({ length: n }, (_, i) => ({ input: 16 + ((i * 37 + seed * 11) % 90), output: 4 + ((i * 13 + seed * 7) % 20) }));
}

/** A small constant-predictor job: `n` requests, max_batch_size 4, no warm-up. */
export function smallJob(n = 12, name = "small", engine: Partial<EngineConfig> = {}): JobSpec {
  return jobSpec({
    name,
    engine: { maxBatchSize: 4, warmup: 0, ...engine },
    predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
    workload: inlineWorkload(variedRequests(n)),
  });
}

/** The same job run by the embedded engine with a local predictor, in wire form. */
export async function embeddedRun(spec: JobSpec): Promise<{ requests: RequestRecord[]; iterations: IterationRecord[]; numIterations: number }> {
  const job = await resolveJob(spec);
  const predictor = await createPredictor(job.predictor.config);
  const out = await runResolvedJob(job, predictor, { collectIterations: true });
  return { requests: out.records.map(requestToWire), iterations: (out.iterations ?? []).map(iterationToWire), numIterations: out.result.numIterations };
}

/** Polls `cond` every 10 ms until it holds (no wall-time assertion: the test timeout bounds it). */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

/** Opens a grpc.health.v1 Watch on the whole server and collects the statuses it reports. */
export function watchHealth(port: number): { statuses: string[]; close(): void } {
  const pkg = loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true })) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (address: string, creds: ChannelCredentials) => Client & { watch(req: { service: string }): ClientReadableStream<{ status: string }> };
        };
      };
    };
  };
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
  const statuses: string[] = [];
  const call = client.watch({ service: "" });
  call.on("data", (r: { status: string }) => statuses.push(r.status));
  call.on("error", () => undefined);
  return {
    statuses,
    close() {
      call.cancel();
      client.close();
    },
  };
}
