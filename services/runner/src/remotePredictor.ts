import { type ClientDuplexStream, status as Status } from "@grpc/grpc-js";
import type { BatchPredictor, SimBatch } from "@servesim/core";
import {
  abortedError,
  backoffMs,
  type ClientOptions,
  ClientPool,
  callWithRetry,
  DEFAULT_DEADLINE_MS,
  DEFAULT_RETRIES,
  isRetryable,
  ServesimError,
  serializeBatchRequest,
  stageTimesError,
  toServesimError,
} from "@servesim/wire";
import {
  type DescribePredictorResponse,
  type PredictorConfig,
  PredictorServiceClient,
  PredictorServiceService,
  PredictStreamRequest,
  type PredictStreamResponse,
} from "@servesim/wire/predictor";

export interface RemotePredictorStreamOptions {
  /** Aborting fails the outstanding and every later prediction with CANCELLED at once. */
  signal?: AbortSignal;
  /** How long one message may wait for its answer (default: the client's deadlineMs, else 30000). */
  messageDeadlineMs?: number;
  /** Reconnects allowed for one message after UNAVAILABLE or a missed deadline (default: the client's retries, else 4). */
  retries?: number;
  /** Told about every reconnect (for logs). */
  onReconnect?: (event: { attempt: number; delayMs: number; error: ServesimError }) => void;
  /**
   * Messages sent before the first is answered (default 64): the engine keeps that many batches or
   * decode runs in flight while its batch sequence does not depend on the clock. 1 = ping-pong.
   */
  maxInFlight?: number;
}

export type RemotePredictorOptions = ClientOptions & RemotePredictorStreamOptions & { config: PredictorConfig };

/** Messages go out already serialized: they are encoded once, when sent, and resent as they are. */
type Stream = ClientDuplexStream<Buffer, PredictStreamResponse>;

const predictStreamMethod = PredictorServiceService.predictStream;
const sendBytes = (bytes: Buffer): Buffer => bytes;

/** A sent message waiting for its answer. */
interface PendingMessage {
  /** The serialized PredictStreamRequest. */
  bytes: Buffer;
  sequence: number;
  what: "batch" | "decode run";
  /** Takes the answer; returns an error when it does not fit the message. */
  deliver(r: PredictStreamResponse): ServesimError | undefined;
  reject(err: ServesimError): void;
  /** Reconnects made while this message was the oldest unanswered one. */
  failures: number;
  sentAt: number;
}

const CLOSE_WAIT_MS = 1_000;
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** Steps per DecodeRun message (the service accepts up to SERVESIM_MAX_DECODE_STEPS, 2^20 by default). */
const MAX_RUN_STEPS = 1 << 16;

function serializeMessage(m: Partial<PredictStreamRequest>): Buffer {
  const message = { config: undefined, batch: undefined, decodeRun: undefined, sequence: 0, includeBreakdown: false, ...m };
  return Buffer.from(PredictStreamRequest.encode(message).finish());
}

/**
 * Copies an answer's stage_ms into `out` once checked (stageTimesError): none gives zeros, the engine's equal shares.
 */
export function readStageTimes(stageMs: readonly number[], out: Float64Array): ServesimError | undefined {
  const bad = stageTimesError(stageMs, out.length);
  if (bad) return bad;
  if (stageMs.length === 0) out.fill(0);
  else out.set(stageMs);
  return undefined;
}

/**
 * A BatchPredictor backed by the predictor service over one PredictStream: the first message carries
 * the config, then batches and decode runs, up to `maxInFlight` of them unanswered; the service answers
 * in order. When the stream fails with UNAVAILABLE (a replica restarted or was killed), is cancelled by
 * the server (a replica cut at shutdown) or an answer misses its deadline, it reopens the stream with
 * backoff, on the next replica when there are several, and re-sends the config and every unanswered
 * message in order: the predictions, hence the simulation, are the same as without the failure.
 */
export class RemotePredictor implements BatchPredictor {
  readonly description: string;
  readonly maxInFlight: number;
  /** The config's pipeline stages (parallelism.pp) when more than one: batch answers carry their stage times. */
  readonly pipelineStages: number | undefined;
  private readonly messageDeadlineMs: number;
  private readonly retries: number;
  private stream: Stream | undefined;
  /** Unanswered messages, oldest first (pending[head] is the next answer expected). */
  private pending: PendingMessage[] = [];
  private head = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private failure: ServesimError | undefined;
  private closed = false;
  private ownedChannels: PredictorChannels | undefined;
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
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT));
    const pp = config.parallelism?.pp ?? 1;
    this.pipelineStages = pp > 1 ? pp : undefined;
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Opens its own channels to `opts.address` (closed by close()). */
  static async connect(opts: RemotePredictorOptions): Promise<RemotePredictor> {
    const channels = new PredictorChannels(opts);
    try {
      const predictor = await channels.open(opts.config, opts);
      predictor.ownedChannels = channels;
      return predictor;
    } catch (err) {
      channels.close();
      throw err;
    }
  }

  /** Used by PredictorChannels.open: checks the config (DescribePredictor) and names the predictor. */
  static async open(channels: PredictorChannels, config: PredictorConfig, opts: RemotePredictorStreamOptions): Promise<RemotePredictor> {
    const described = await channels.describe(config, opts.signal);
    if (opts.signal?.aborted) throw abortedError(opts.signal, "RemotePredictor");
    return new RemotePredictor(channels.streamPicker(), config, described.description, channels.options, opts);
  }

  /** Unanswered messages. */
  get outstanding(): number {
    return this.pending.length - this.head;
  }

  /** Prices one batch (copied now: the engine reuses its arrays). */
  predict(batch: SimBatch): Promise<number> {
    return this.priceBatch(batch, null);
  }

  /**
   * Prices one batch and writes its stage times (the answer's stage_ms) into `stageMs` when the answer comes;
   * all zeros (the engine's equal shares) when the service's predictor does not price stages (no stage_ms).
   */
  predictStages(batch: SimBatch, stageMs: Float64Array): Promise<number> {
    if (stageMs.length !== this.pipelineStages) {
      return Promise.reject(
        new ServesimError(Status.INVALID_ARGUMENT, `stageMs holds ${stageMs.length} stages; the predictor's pipeline has ${String(this.pipelineStages)}`),
      );
    }
    return this.priceBatch(batch, stageMs);
  }

  private priceBatch(batch: SimBatch, stageMs: Float64Array | null): Promise<number> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const sequence = ++this.sequence;
    const bytes = serializeBatchRequest(batch, sequence);
    return this.counted(
      new Promise<number>((resolve, reject) => {
        this.send(bytes, sequence, "batch", reject, (r) => {
          if (stageMs !== null) {
            const bad = readStageTimes(r.stageMs, stageMs);
            if (bad) return bad;
          }
          resolve(r.timeMs);
          return undefined;
        });
      }),
    );
  }

  /** Predictions (calls) not yet settled: what maxInFlight bounds (a long decode run is several messages but one call). */
  private calls = 0;

  private counted<T>(p: Promise<T>): Promise<T> {
    this.calls += 1;
    return p.finally(() => {
      this.calls -= 1;
    });
  }

  /**
   * The times of `steps` decode-only iterations of `count` requests, step i at past KV length
   * `pastKv[j] + i` (one DecodeRun message per 65536 steps; `pastKv` is copied now).
   */
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): Promise<number[]> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const parts: Array<Promise<number[]>> = [];
    for (let first = 0; first < steps; first += MAX_RUN_STEPS) {
      const numSteps = Math.min(MAX_RUN_STEPS, steps - first);
      const pastKvLength = new Array<number>(count);
      for (let j = 0; j < count; j++) pastKvLength[j] = pastKv[j]! + first;
      const sequence = ++this.sequence;
      const bytes = serializeMessage({ decodeRun: { pastKvLength, numSteps }, sequence });
      parts.push(
        new Promise<number[]>((resolve, reject) => {
          this.send(bytes, sequence, "decode run", reject, (r) => {
            if (r.stepTimesMs.length !== numSteps) {
              return new ServesimError(Status.INTERNAL, `predictor answered ${r.stepTimesMs.length} step times for a decode run of ${numSteps} steps`);
            }
            resolve(r.stepTimesMs);
            return undefined;
          });
        }),
      );
    }
    if (parts.length === 1) return this.counted(parts[0]!);
    return this.counted(Promise.all(parts).then((chunks) => chunks.flat()));
  }

  /** Half-closes the stream (the server ends it cleanly) and releases owned channels. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.clearRetry();
    this.settleAll(new ServesimError(Status.CANCELLED, "RemotePredictor closed with a prediction outstanding"));
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
    this.ownedChannels?.close();
  }

  private refusal(): ServesimError | undefined {
    if (this.failure) return this.failure;
    if (this.closed) return new ServesimError(Status.FAILED_PRECONDITION, "RemotePredictor is closed");
    if (this.calls >= this.maxInFlight) {
      return new ServesimError(
        Status.FAILED_PRECONDITION,
        `RemotePredictor has ${this.calls} predictions outstanding (maxInFlight ${this.maxInFlight}); await the oldest first`,
      );
    }
    return undefined;
  }

  private send(bytes: Buffer, sequence: number, what: PendingMessage["what"], reject: (err: ServesimError) => void, deliver: PendingMessage["deliver"]): void {
    const p: PendingMessage = { bytes, sequence, what, deliver, reject, failures: 0, sentAt: Date.now() };
    this.pending.push(p);
    // While a reconnect is scheduled, the message waits for it (it is resent with the others).
    if (this.retryTimer !== undefined) return;
    let stream: Stream;
    try {
      stream = this.openStream();
    } catch (err) {
      // e.g. the channels were closed under a retry
      this.settleAll(toServesimError(err));
      return;
    }
    stream.write(bytes);
    if (this.outstanding === 1) this.armDeadline(stream);
  }

  /** Opens a stream if there is none: config first, then every unanswered message, in order. */
  private openStream(): Stream {
    if (this.stream) return this.stream;
    const stream: Stream = this.pick().makeBidiStreamRequest(predictStreamMethod.path, sendBytes, predictStreamMethod.responseDeserialize);
    this.stream = stream;
    stream.on("data", (r: PredictStreamResponse) => this.onResponse(stream, r));
    stream.on("error", (e: unknown) => this.onStreamFailure(stream, toServesimError(e)));
    stream.on("end", () => this.onStreamFailure(stream, new ServesimError(Status.UNAVAILABLE, "the predictor ended the stream")));
    stream.write(serializeMessage({ config: this.config }));
    return stream;
  }

  /** Re-sends everything unanswered on a new stream (after a failure). */
  private resend(): void {
    if (this.outstanding === 0) return;
    let stream: Stream;
    try {
      stream = this.openStream();
    } catch (err) {
      this.settleAll(toServesimError(err));
      return;
    }
    const now = Date.now();
    for (let i = this.head; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      p.sentAt = now;
      stream.write(p.bytes);
    }
    this.armDeadline(stream);
  }

  /** The deadline of the oldest unanswered message (answers come in order, so only it can be late first). */
  private armDeadline(stream: Stream): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (this.outstanding === 0) return;
    const oldest = this.pending[this.head]!;
    const wait = Math.max(0, oldest.sentAt + this.messageDeadlineMs - Date.now());
    this.deadlineTimer = setTimeout(() => this.onDeadline(stream), wait);
  }

  private onResponse(stream: Stream, r: PredictStreamResponse): void {
    if (stream !== this.stream) return;
    const p = this.pending[this.head];
    const mismatch =
      !p || r.sequence !== p.sequence
        ? new ServesimError(Status.INTERNAL, `predictor answered sequence ${r.sequence}, expected ${p ? String(p.sequence) : "none"}`)
        : undefined;
    if (mismatch) {
      this.dropStream();
      this.settleAll(mismatch);
      return;
    }
    this.shift();
    const bad = p!.deliver(r);
    if (bad) {
      this.dropStream();
      p!.reject(bad);
      this.settleAll(bad);
      return;
    }
    this.armDeadline(stream);
  }

  private onStreamFailure(stream: Stream, err: ServesimError): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    clearTimeout(this.deadlineTimer);
    if (this.outstanding === 0) return; // the next message opens a new stream
    // Streams this side cancels are dropped first, so a CANCELLED here came from the server: a replica
    // cut at shutdown (forced stop, grace period over). Like UNAVAILABLE, another replica can answer.
    this.retryOrFail(err, isRetryable(err) || err.code === Status.CANCELLED);
  }

  private onDeadline(stream: Stream): void {
    if (stream !== this.stream || this.outstanding === 0) return;
    this.dropStream();
    const p = this.pending[this.head]!;
    const err = new ServesimError(Status.DEADLINE_EXCEEDED, `no answer from the predictor for ${p.what} ${p.sequence} within ${this.messageDeadlineMs} ms`);
    this.retryOrFail(err, true);
  }

  private retryOrFail(err: ServesimError, retryable: boolean): void {
    const p = this.pending[this.head]!;
    if (!retryable || p.failures >= this.retries) {
      this.settleAll(err);
      return;
    }
    const delayMs = backoffMs(p.failures);
    p.failures += 1;
    this.opts.onReconnect?.({ attempt: p.failures, delayMs, error: err });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.resend();
    }, delayMs);
  }

  private abort(): void {
    this.failure = abortedError(this.opts.signal!, "prediction");
    this.clearRetry();
    this.dropStream();
    this.settleAll(this.failure);
  }

  private shift(): void {
    this.pending[this.head++] = undefined as unknown as PendingMessage;
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  /** Rejects every unanswered message. */
  private settleAll(err: ServesimError): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    const waiting = this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
    for (const p of waiting) p.reject(err);
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    clearTimeout(this.deadlineTimer);
    stream?.cancel();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/**
 * Channels to the predictor service that several RemotePredictors (one per job) share: round_robin over
 * the replicas, a DescribePredictor check before every stream.
 */
export class PredictorChannels {
  readonly options: Readonly<ClientOptions>;
  private readonly pool: ClientPool<PredictorServiceClient>;

  constructor(opts: ClientOptions) {
    this.options = { ...opts };
    this.pool = new ClientPool(PredictorServiceClient, opts);
  }

  describe(config: PredictorConfig, signal?: AbortSignal): Promise<DescribePredictorResponse> {
    return callWithRetry<DescribePredictorResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.describePredictor({ config }, md, o, cb);
      },
      {
        deadline: Date.now() + (this.options.deadlineMs ?? DEFAULT_DEADLINE_MS),
        retries: this.pool.unaryRetries,
        signal,
        what: "DescribePredictor",
      },
    );
  }

  /** A RemotePredictor over these channels (one PredictStream; closing it leaves the channels open). */
  open(config: PredictorConfig, opts: RemotePredictorStreamOptions = {}): Promise<RemotePredictor> {
    return RemotePredictor.open(this, config, opts);
  }

  streamPicker(): () => PredictorServiceClient {
    return this.pool.streamPicker();
  }

  close(): void {
    this.pool.close();
  }
}
