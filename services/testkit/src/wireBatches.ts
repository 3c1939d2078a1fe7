/** Starts a real predictor server on an ephemeral port with the generated grpc-js client. */
import { type CallOptions, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { ServerHandle } from "@servesim/server-common";
import {
  type BatchEntry,
  Phase,
  PredictorServiceClient,
  type PredictRequest,
  type PredictResponse,
  type PredictStreamRequest,
  type PredictStreamResponse,
  type SimBatch,
} from "@servesim/wire/predictor";
import { type LogLine, startPredictor, type TestPredictorOptions } from "./testPredictor.js";

export interface TestServer {
  handle: ServerHandle;
  client: PredictorServiceClient;
  /** Every log line the server wrote (parsed JSON). */
  logs: LogLine[];
  stop(): Promise<void>;
}

/** A predictor server with a generated grpc-js client to it. */
export async function startTestServer(opts: Omit<TestPredictorOptions, "port"> = {}): Promise<TestServer> {
  const server = await startPredictor(opts);
  const client = new PredictorServiceClient(server.address, credentials.createInsecure());
  return {
    handle: server.handle,
    client,
    logs: server.logs,
    async stop() {
      client.close();
      await server.kill();
    },
  };
}

export const ctx = (inputLength: number, pastKvLength = 0): BatchEntry => ({ phase: Phase.PHASE_CONTEXT, inputLength, pastKvLength });
export const gen = (pastKvLength: number): BatchEntry => ({ phase: Phase.PHASE_GENERATION, inputLength: 1, pastKvLength });

/** A wire batch from entries with correct totals. */
export function wireBatch(entries: BatchEntry[]): SimBatch {
  const c = entries.filter((e) => e.phase === Phase.PHASE_CONTEXT);
  const g = entries.filter((e) => e.phase !== Phase.PHASE_CONTEXT);
  return {
    entries,
    packed: undefined,
    numContextRequests: c.length,
    numContextTokens: c.reduce((s, e) => s + e.inputLength, 0),
    numGenerationRequests: g.length,
    numGenerationTokens: g.reduce((s, e) => s + e.inputLength, 0),
  };
}

export function predict(client: PredictorServiceClient, req: Partial<PredictRequest>, options: Partial<CallOptions> = {}): Promise<PredictResponse> {
  const request: PredictRequest = { config: undefined, batch: undefined, includeBreakdown: false, ...req };
  return new Promise((resolve, reject) => client.predict(request, new Metadata(), options, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Awaits a rejected call and returns its error. */
export async function callError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to fail");
}

export const streamMsg = (m: Partial<PredictStreamRequest>): PredictStreamRequest => ({
  config: undefined,
  batch: undefined,
  decodeRun: undefined,
  sequence: 0,
  includeBreakdown: false,
  ...m,
});

/** An open PredictStream that collects responses and its final status. */
export function openStream(client: PredictorServiceClient, options: Partial<CallOptions> = {}) {
  const call = client.predictStream(options);
  const responses: PredictStreamResponse[] = [];
  const waiters: Array<() => void> = [];
  call.on("data", (r: PredictStreamResponse) => {
    responses.push(r);
    for (const w of waiters.splice(0)) w();
  });
  const status = new Promise<ServiceError | null>((resolve) => {
    call.on("error", (e: ServiceError) => resolve(e));
    call.on("end", () => resolve(null));
  });
  return {
    call,
    responses,
    status,
    send: (m: Partial<PredictStreamRequest>) => call.write(streamMsg(m)),
    /** Resolves once `n` responses have arrived. */
    async received(n: number): Promise<PredictStreamResponse[]> {
      while (responses.length < n) await new Promise<void>((r) => waiters.push(r));
      return responses.slice(0, n);
    },
  };
}
