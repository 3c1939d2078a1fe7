import { InvalidArgumentError, type SimRequest } from "@servesim/core";
import type { ReactiveArrivals, Submit } from "./arrivals/reactive.js";

/**
 * The serving front end of trtllm-serve (tensorrt_llm/serve/openai_server.py): one process, one asyncio
 * event loop, through which every request and every streamed token passes. With
 * `num_postprocess_workers: 0` (the default) the loop itself tokenizes each prompt (`generate_async`'s input
 * processing) and runs the stream post-processor on every response the executor returns
 * (`completion_stream_post_processor` / `chat_stream_post_processor` in
 * tensorrt_llm/serve/postprocess_handlers.py: detokenize the new token, build and serialize the SSE chunk),
 * so the front end is one CPU thread:
 *
 * - a request the client sends reaches the engine after perRequestUs + perPromptTokenUs × prompt tokens of
 *   that thread's time;
 * - each iteration's responses (one per request that got a token) reach the clients after
 *   perResponseUs each of that thread's time.
 *
 * Work is served in the order the simulation meets it (an iteration's responses once its time is known,
 * a request when its client sends it). While the thread keeps up, clients see the engine's times plus a few
 * microseconds. When the engine produces responses faster than the thread turns them into chunks, tokens
 * reach clients at the thread's pace (TPOT ≈ requests streaming × perResponseUs), and in a closed loop a
 * client sends its next request only when it has received the last token of the previous one, so the
 * engine runs fewer requests than the benchmark's concurrency and the rest of the time shows up in TTFT.
 */
export interface FrontEndSettings {
  perRequestUs: number;
  perPromptTokenUs: number;
  perResponseUs: number;
}

/** The front end's work for one request before it reaches the engine (ms). */
export function frontEndRequestMs(q: Pick<SimRequest, "inputLength">, s: FrontEndSettings): number {
  return (s.perRequestUs + s.perPromptTokenUs * q.inputLength) / 1000;
}

/** "trtllm-serve front end: 0 µs/request + 2 µs/prompt token, 110 µs/response". */
export function describeFrontEnd(f: FrontEndSettings): string {
  return `trtllm-serve front end: ${f.perRequestUs} µs/request + ${f.perPromptTokenUs} µs/prompt token, ${f.perResponseUs} µs/response`;
}

/** True when the front end costs nothing (it is then not simulated). */
export function frontEndIsFree(s: FrontEndSettings | undefined): boolean {
  return s === undefined || (s.perRequestUs === 0 && s.perPromptTokenUs === 0 && s.perResponseUs === 0);
}

/** Throws InvalidArgumentError naming the member: each a finite number of microseconds in [0, 1e6]. */
export function validateFrontEnd(s: FrontEndSettings, field: string): void {
  if (s === null || typeof s !== "object") throw new InvalidArgumentError(field, "must be an object");
  for (const [k, v] of [
    ["perRequestUs", s.perRequestUs],
    ["perPromptTokenUs", s.perPromptTokenUs],
    ["perResponseUs", s.perResponseUs],
  ] as const) {
    if (!(typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6)) {
      throw new InvalidArgumentError(`${field}.${k}`, `must be a number of microseconds in [0, 1000000] (got ${String(v)})`);
    }
  }
}

/**
 * The front-end thread of one run: when each iteration's responses reach the clients (`delivered`, by
 * iteration index, the clients' clock for tokens), and when each request sent reaches the engine.
 */
export class FrontEndServer {
  /** Time at which the thread has done all work so far. */
  private free = 0;
  /** Iterations whose responses have been processed. */
  private through = 0;
  delivered = new Float64Array(1024);

  constructor(
    private readonly s: FrontEndSettings,
    private readonly requests: readonly Pick<SimRequest, "inputLength">[],
    /** Receives each request's time in the front end before the engine (its start stays the send time). */
    private readonly waitMs: Float64Array,
  ) {}

  /** Processes the responses of iterations [through, timed): `iterEnd[i]` their end, `responses[i]` their count. */
  advance(iterEnd: Float64Array, responses: Int32Array, timed: number): void {
    if (timed > this.delivered.length) {
      let size = this.delivered.length * 2;
      while (size < timed) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.delivered);
      this.delivered = grown;
    }
    const per = this.s.perResponseUs / 1000;
    let free = this.free;
    for (let i = this.through; i < timed; i++) {
      free = Math.max(free, iterEnd[i]!) + per * responses[i]!;
      this.delivered[i] = free;
    }
    this.free = free;
    this.through = Math.max(this.through, timed);
  }

  /** Request `r` sent at `sentMs`: the time it reaches the engine. */
  send(r: number, sentMs: number): number {
    this.free = Math.max(this.free, sentMs) + frontEndRequestMs(this.requests[r]!, this.s);
    this.waitMs[r] = this.free - sentMs;
    return this.free;
  }

  /** A reactive arrival process whose sends pass this thread first. */
  gate(inner: ReactiveArrivals): ReactiveArrivals {
    const via =
      (submit: Submit): Submit =>
      (r, tMs) =>
        submit(r, this.send(r, tMs));
    return {
      begin: (submit) => inner.begin(via(submit)),
      ended: (r, tMs, submit) => inner.ended(r, tMs, via(submit)),
    };
  }
}
