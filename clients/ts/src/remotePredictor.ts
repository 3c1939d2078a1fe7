import { status as Status, type ClientDuplexStream } from "@grpc/grpc-js";
import type { BatchPredictor, SimBatch } from "../../../services/engine/src/simBatch.js";
import type {
  PredictorConfig,
  PredictorServiceClient,
  PredictStreamRequest,
  PredictStreamResponse,
} from "../../../gen/ts/servesim/v1/predictor.js";
import { DEFAULT_DEADLINE_MS, DEFAULT_RETRIES, type ClientOptions } from "./channel.js";
import { abortedError, isRetryable, ServesimError, toServesimError } from "./errors.js";
import { PredictorClient } from "./predictorClient.js";
import { backoffMs } from "./retry.js";
import { encodeBatch } from "./wireBatch.js";

export interface RemotePredictorStreamOptions {
  /** Aborting fails the outstanding and every later prediction with CANCELLED at once. */
  signal?: AbortSignal;
  /** How long one batch may wait for its answer (default: the client's deadlineMs, else 30000). */
  messageDeadlineMs?: number;
  /** Reconnects allowed for one batch after UNAVAILABLE or a missed deadline (default: the client's retries, else 4). */
  retries?: number;
  /** Told about every reconnect (for logs). */
  onReconnect?: (event: { attempt: number; delayMs: number; error: ServesimError }) => void;
}

export type RemotePredictorOptions = ClientOptions & RemotePredictorStreamOptions & { config: PredictorConfig };

type Stream = ClientDuplexStream<PredictStreamRequest, PredictStreamResponse>;

interface PendingBatch {
  message: PredictStreamRequest;
  resolve(ms: number): void;
  reject(err: ServesimError): void;
  failures: number;
  timer?: NodeJS.Timeout;
}

const CLOSE_WAIT_MS = 1_000;

function streamMessage(m: Partial<PredictStreamRequest>): PredictStreamRequest {
  return { config: undefined, batch: undefined, decodeRun: undefined, sequence: 0, includeBreakdown: false, ...m };
}

/**
 * A BatchPredictor backed by the predictor service over one PredictStream: the first message carries
 * the config, then one batch at a time (ping-pong). When the stream fails with UNAVAILABLE (a replica
 * restarted or was killed), is cancelled by the server (a replica cut at shutdown) or a batch misses
 * its deadline, it reopens the stream with backoff, on the
 * next replica when there are several, re-sends the config and the unanswered batch: the predictions,
 * hence the simulation, are the same as without the failure.
 */
export class RemotePredictor implements BatchPredictor {
  readonly description: string;
  private readonly messageDeadlineMs: number;
  private readonly retries: number;
  private stream: Stream | undefined;
  private pending: PendingBatch | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private failure: ServesimError | undefined;
  private closed = false;
  private ownedClient: PredictorClient | undefined;
  private readonly onAbort = () => this.abort();

  private constructor(
    private readonly pick: () => PredictorServiceClient,
    private readonly config: PredictorConfig,
    description: string,
    client: ClientOptions,
    private readonly opts: RemotePredictorStreamOptions,
  ) {
    this.description = description;
    this.messageDeadlineMs = opts.messageDeadlineMs ?? client.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.retries = opts.retries ?? client.retries ?? DEFAULT_RETRIES;
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Opens its own channels to `opts.address` (closed by close()). */
  static async connect(opts: RemotePredictorOptions): Promise<RemotePredictor> {
    const client = new PredictorClient(opts);
    try {
      const predictor = await client.openPredictor(opts.config, opts);
      predictor.ownedClient = client;
      return predictor;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** Used by PredictorClient.openPredictor: checks the config (DescribePredictor) and names the predictor. */
  static async open(
    client: PredictorClient,
    pick: () => PredictorServiceClient,
    config: PredictorConfig,
    opts: RemotePredictorStreamOptions,
  ): Promise<RemotePredictor> {
    const described = await client.describePredictor(config, { signal: opts.signal });
    if (opts.signal?.aborted) throw abortedError(opts.signal, "RemotePredictor");
    return new RemotePredictor(pick, config, described.description, client.options, opts);
  }

  predict(batch: SimBatch): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ServesimError(Status.FAILED_PRECONDITION, "RemotePredictor is closed"));
    if (this.pending) {
      return Promise.reject(new ServesimError(Status.FAILED_PRECONDITION, "RemotePredictor prices one batch at a time; await the previous predict()"));
    }
    const message = streamMessage({ batch: encodeBatch(batch), sequence: ++this.sequence });
    return new Promise<number>((resolve, reject) => {
      this.pending = { message, resolve, reject, failures: 0 };
      this.transmit();
    });
  }

  /** Half-closes the stream (the server ends it cleanly) and releases owned channels. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.clearRetry();
    this.settle(new ServesimError(Status.CANCELLED, "RemotePredictor closed with a batch outstanding"));
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          stream.cancel();
          resolve();
        }, CLOSE_WAIT_MS);
        stream.on("status", () => {
          clearTimeout(timer);
          resolve();
        });
        stream.end();
      });
    }
    this.ownedClient?.close();
  }

  private transmit(): void {
    const p = this.pending;
    if (!p) return;
    let stream: Stream;
    try {
      stream = this.openStream();
    } catch (err) {
      // e.g. the channels were closed under a retry
      this.settle(toServesimError(err));
      return;
    }
    stream.write(p.message);
    p.timer = setTimeout(() => this.onDeadline(stream), this.messageDeadlineMs);
  }

  private openStream(): Stream {
    if (this.stream) return this.stream;
    const stream = this.pick().predictStream();
    this.stream = stream;
    stream.on("data", (r: PredictStreamResponse) => this.onResponse(stream, r));
    stream.on("error", (e: unknown) => this.onStreamFailure(stream, toServesimError(e)));
    stream.on("end", () => this.onStreamFailure(stream, new ServesimError(Status.UNAVAILABLE, "the predictor ended the stream")));
    stream.write(streamMessage({ config: this.config }));
    return stream;
  }

  private onResponse(stream: Stream, r: PredictStreamResponse): void {
    if (stream !== this.stream) return;
    const p = this.pending;
    if (!p || r.sequence !== p.message.sequence) {
      this.dropStream();
      const expected = p ? String(p.message.sequence) : "none";
      this.settle(new ServesimError(Status.INTERNAL, `predictor answered sequence ${r.sequence}, expected ${expected}`));
      return;
    }
    clearTimeout(p.timer);
    this.pending = undefined;
    p.resolve(r.timeMs);
  }

  private onStreamFailure(stream: Stream, err: ServesimError): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    const p = this.pending;
    if (!p) return; // the next batch opens a new stream
    clearTimeout(p.timer);
    // Streams this side cancels are dropped first, so a CANCELLED here came from the server: a replica
    // cut at shutdown (forced stop, grace period over). Like UNAVAILABLE, another replica can answer.
    this.retryOrFail(p, err, isRetryable(err) || err.code === Status.CANCELLED);
  }

  private onDeadline(stream: Stream): void {
    if (stream !== this.stream || !this.pending) return;
    this.dropStream();
    const p = this.pending;
    const err = new ServesimError(Status.DEADLINE_EXCEEDED, `no answer from the predictor for batch ${p.message.sequence} within ${this.messageDeadlineMs} ms`);
    this.retryOrFail(p, err, true);
  }

  private retryOrFail(p: PendingBatch, err: ServesimError, retryable: boolean): void {
    if (!retryable || p.failures >= this.retries) {
      this.settle(err);
      return;
    }
    const delayMs = backoffMs(p.failures);
    p.failures += 1;
    this.opts.onReconnect?.({ attempt: p.failures, delayMs, error: err });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.pending === p) this.transmit();
    }, delayMs);
  }

  private abort(): void {
    this.failure = abortedError(this.opts.signal!, "prediction");
    this.clearRetry();
    this.dropStream();
    this.settle(this.failure);
  }

  /** Rejects the outstanding batch, if any. */
  private settle(err: ServesimError): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    p.reject(err);
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
