/**
 * Case F: the predictor service alone. Predictions per second for one 64-request decode batch, over one
 * PredictStream (pipelined, and ping-pong) and over unary Predict calls (one at a time, and 32 in
 * flight), with the generated grpc-js client (no servesim client code in the way).
 */
import { type ClientDuplexStream, credentials } from "@grpc/grpc-js";
import { MAX_MESSAGE_BYTES } from "@servesim/wire";
import {
  type PredictorConfig,
  PredictorServiceClient,
  type PredictRequest,
  type PredictResponse,
  type PredictStreamRequest,
  type PredictStreamResponse,
  type SimBatch as WireBatch,
} from "@servesim/wire/predictor";
import type { Sample } from "./measure.js";

const BATCH_SIZE = 64;

/** A decode batch of 64 requests with KV lengths spread over 500..1500 tokens (packed wire form). */
export function decodeBatch(): WireBatch {
  const pastKvLength = Array.from({ length: BATCH_SIZE }, (_, i) => 500 + ((i * 331) % 1000));
  return {
    entries: [],
    packed: { isContext: new Array<boolean>(BATCH_SIZE).fill(false), inputLength: new Array<number>(BATCH_SIZE).fill(1), pastKvLength },
    numContextRequests: 0,
    numContextTokens: 0,
    numGenerationRequests: BATCH_SIZE,
    numGenerationTokens: BATCH_SIZE,
  };
}

function message(m: Partial<PredictStreamRequest>): PredictStreamRequest {
  return { config: undefined, batch: undefined, decodeRun: undefined, sequence: 0, includeBreakdown: false, ...m };
}

function openStream(client: PredictorServiceClient, config: PredictorConfig): ClientDuplexStream<PredictStreamRequest, PredictStreamResponse> {
  const stream = client.predictStream();
  stream.write(message({ config }));
  return stream;
}

/** `count` batches over one stream with up to `window` unanswered; predictions per second. */
async function streamRate(client: PredictorServiceClient, config: PredictorConfig, count: number, window: number): Promise<number> {
  const stream = openStream(client, config);
  const batch = decodeBatch();
  let sent = 0;
  let answered = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (sent < count && sent - answered < window) {
        sent++;
        if (!stream.write(message({ batch, sequence: sent }))) {
          stream.once("drain", pump);
          return;
        }
      }
    };
    stream.on("data", (r: PredictStreamResponse) => {
      answered++;
      if (r.sequence !== answered) reject(new Error(`answer ${r.sequence} out of order (expected ${answered})`));
      if (answered === count) resolve();
      else pump();
    });
    stream.on("error", reject);
    pump();
  });
  const ms = performance.now() - t0;
  stream.end();
  return (count / ms) * 1000;
}

function predictOnce(client: PredictorServiceClient, request: PredictRequest): Promise<PredictResponse> {
  return new Promise((resolve, reject) => client.predict(request, (err, res) => (err ? reject(err) : resolve(res))));
}

/** `count` unary calls with `concurrency` in flight; predictions per second. */
async function unaryRate(client: PredictorServiceClient, config: PredictorConfig, count: number, concurrency: number): Promise<number> {
  const request: PredictRequest = { config, batch: decodeBatch(), includeBreakdown: false };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      await predictOnce(client, request);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (count / (performance.now() - t0)) * 1000;
}

export async function predictorSample(address: string, config: PredictorConfig, scale: number): Promise<Sample> {
  const client = new PredictorServiceClient(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  try {
    // Warm the connection and the server's predictor cache first.
    await unaryRate(client, config, 50, 1);
    const n = (x: number) => Math.max(100, Math.round(x * scale));
    return {
      streamPipelinedPerS: await streamRate(client, config, n(40_000), 256),
      streamPingPongPerS: await streamRate(client, config, n(5_000), 1),
      unarySequentialPerS: await unaryRate(client, config, n(4_000), 1),
      unaryConcurrentPerS: await unaryRate(client, config, n(20_000), 32),
    };
  } finally {
    client.close();
  }
}
