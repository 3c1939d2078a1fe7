import { type ChannelCredentials, type ChannelOptions, type Client, credentials, InterceptingCall, type Interceptor } from "@grpc/grpc-js";
import { resolveAddress } from "./address.js";

/** How to reach a servesim service. */
export interface ClientOptions {
  /** host:port, a comma list of host:port (replicas), or dns:///name:port (every A/AAAA record a replica). */
  address: string;
  /** Deadline of one unary call in ms, retries included (default 30000). */
  deadlineMs?: number;
  /** Further attempts after UNAVAILABLE, with exponential backoff and jitter (default 4). */
  retries?: number;
  /** TLS: the CA that signed the server (default: the system roots); cert + key for mTLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** A bearer token sent with every call (authorization: Bearer <token>). */
  token?: string;
}

/** A client interceptor adding `authorization: Bearer <token>` to every call (plaintext or TLS channels alike). */
export function bearerInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", value);
        next(metadata, listener);
      },
    });
}

export const DEFAULT_DEADLINE_MS = 30_000;
export const DEFAULT_RETRIES = 4;
/** Largest message received or sent: result chunks and big batches stay well below it. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function channelCredentials(tls: ClientOptions["tls"]): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** The idempotent unary methods gRPC retries by itself (SubmitJob is idempotent through its request_id). */
const RETRIED_METHODS: Record<string, string[]> = {
  "servesim.v1.SchedulerService": ["SubmitJob", "GetJob", "CancelJob", "ListJobs"],
  "servesim.v1.PredictorService": ["Predict", "ListCatalog", "DescribePredictor"],
};

/**
 * The channel's service config: round_robin over every backend the resolver yields (per call or stream,
 * never per message) and, with retries, gRPC's retry policy for the idempotent unary methods: UNAVAILABLE
 * is retried up to `retries` times with exponential backoff and jitter (100 ms doubling to 5 s), within
 * the call's deadline.
 */
export function serviceConfig(retries: number): Record<string, unknown> {
  const config: Record<string, unknown> = { loadBalancingConfig: [{ round_robin: {} }] };
  if (retries > 0) {
    config["methodConfig"] = [
      {
        name: Object.entries(RETRIED_METHODS).flatMap(([service, methods]) => methods.map((method) => ({ service, method }))),
        retryPolicy: { maxAttempts: retries + 1, initialBackoff: "0.1s", maxBackoff: "5s", backoffMultiplier: 2, retryableStatusCodes: ["UNAVAILABLE"] },
      },
    ];
  }
  return config;
}

/**
 * Channel options: the service config above, keepalive pings so a vanished peer is noticed while a stream
 * waits, fast reconnects.
 */
export function channelOptions(retries = 0): ChannelOptions {
  return {
    "grpc.service_config": JSON.stringify(serviceConfig(retries)),
    // gRPC caps maxAttempts at 5 unless told otherwise.
    "grpc-node.retry_max_attempts_limit": Math.max(5, retries + 1),
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 0,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 5_000,
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  };
}

type ClientCtor<C extends Client> = new (address: string, creds: ChannelCredentials, options?: Partial<ChannelOptions>) => C;

/**
 * The channels of one address: one, or one per replica when the address lists hosts by name. One channel
 * retries UNAVAILABLE unary calls itself (gRPC's retry policy); with one channel per replica the caller
 * retries instead, moving to the next replica each attempt (`unaryRetries`).
 */
export class ClientPool<C extends Client> {
  /** Retries the caller makes for a unary call (0: the channel retries). */
  readonly unaryRetries: number;
  private readonly clients: C[];
  private next = 0;
  private nextStream = 0;

  private streamClients: C[] | undefined;
  private readonly open: () => C[];

  constructor(ctor: ClientCtor<C>, opts: Pick<ClientOptions, "address" | "tls" | "retries" | "token">) {
    const { targets } = resolveAddress(opts.address);
    const creds = channelCredentials(opts.tls);
    const retries = opts.retries ?? DEFAULT_RETRIES;
    const inChannel = targets.length === 1 ? retries : 0;
    this.unaryRetries = retries - inChannel;
    const auth = opts.token ? { interceptors: [bearerInterceptor(opts.token)] } : {};
    this.open = () => targets.map((t) => new ctor(t, creds, { ...channelOptions(inChannel), ...auth } as Partial<ChannelOptions>));
    this.clients = this.open();
  }

  get size(): number {
    return this.clients.length;
  }

  /** The channel for the next unary call (rotates over the replicas of a host-name list). */
  pick(): C {
    const c = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return c;
  }

  /**
   * Channels for one long-lived stream: the first is the next replica in stream order (streams rotate
   * independently of unary calls), every later call (a reconnect) moves on to the following replica.
   */
  streamPicker(): () => C {
    // Streams get channels of their own (same connections: grpc-js shares subchannels), so their
    // round_robin turns are not taken by the unary calls in between (a DescribePredictor before
    // every stream would otherwise send every stream to the same one of two replicas).
    const clients = (this.streamClients ??= this.open());
    let i = this.nextStream;
    this.nextStream = (this.nextStream + 1) % clients.length;
    return () => {
      const c = clients[i]!;
      i = (i + 1) % clients.length;
      return c;
    };
  }

  close(): void {
    for (const c of [...this.clients, ...(this.streamClients ?? [])]) c.close();
  }
}
