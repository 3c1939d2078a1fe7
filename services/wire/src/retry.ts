import { setTimeout as sleep } from "node:timers/promises";
import { type CallOptions, type ClientUnaryCall, Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { abortedError, isRetryable, ServesimError, toServesimError } from "./errors.js";

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/** Exponential backoff with jitter: attempt 0 waits 50–100 ms, doubling up to 2.5–5 s. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Waits `ms`, or less when the signal aborts (then rejects with its CANCELLED error). */
export async function backoffSleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw abortedError(signal!, what);
  }
}

export interface RetryPolicy {
  /** Absolute deadline (epoch ms) of the whole call, every attempt included. */
  deadline: number;
  retries: number;
  signal?: AbortSignal;
  /** Names the call in cancellation errors, e.g. "GetJob". */
  what: string;
}

type Invoke<Res> = (metadata: Metadata, options: Partial<CallOptions>, callback: (err: ServiceError | null, res: Res) => void) => ClientUnaryCall;

/** One unary attempt, cancelled when the signal aborts. */
function attempt<Res>(invoke: Invoke<Res>, deadline: number, signal: AbortSignal | undefined, what: string): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal, what));
    const onAbort = () => call.cancel();
    const call = invoke(new Metadata(), { deadline }, (err, res) => {
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(signal?.aborted ? abortedError(signal, what) : toServesimError(err));
      else resolve(res);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs a unary call, retrying on UNAVAILABLE with exponential backoff and jitter while the retries and
 * the deadline last. `invoke` is called once per attempt, so it may pick another channel each time.
 */
export async function callWithRetry<Res>(invoke: () => Invoke<Res>, policy: RetryPolicy): Promise<Res> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(invoke(), policy.deadline, policy.signal, policy.what);
    } catch (err) {
      const e = toServesimError(err);
      if (!isRetryable(e) || n >= policy.retries) throw e;
      const wait = backoffMs(n);
      if (Date.now() + wait >= policy.deadline) {
        throw new ServesimError(Status.DEADLINE_EXCEEDED, `${policy.what}: deadline exceeded while retrying (${e.details})`, { cause: e });
      }
      await backoffSleep(wait, policy.signal, policy.what);
    }
  }
}
