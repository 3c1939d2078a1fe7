import { InvalidArgumentError } from "@servesim/core";
import type { Arrivals, ScheduleArrivals, SessionTurns } from "@servesim/engine";
import { type EngineConfig, RampUpStrategy, SessionMode } from "@servesim/wire/scheduler";
import type { Sessions } from "@servesim/workload";
import type { Benchmark } from "./engineSpec.js";

const F = "spec.engine";
const MAX_INT32 = 2147483647;

/** What the arrival settings need to know of the workload. */
export interface ArrivalWorkload {
  /** Measured requests. */
  n: number;
  /** A trace's arrival times (ms since its first; NaN where a row has none), at least n entries. */
  timestampsMs?: Float64Array;
  sessions?: Sessions;
}

export interface ArrivalResolution {
  arrivals: Arrivals;
  /** Remarks for the job's warnings (timestamps not replayed, sessions sent as independent requests). */
  warnings: string[];
  /** A one-line description for the report ("gamma, burstiness 0.5, 10 req/s, at most 64 in flight"). */
  description: string;
}

/**
 * The engine's arrival process for a job: trtllm-bench's (all at once, a concurrency limit, Poisson),
 * vLLM's (gamma gaps with burstiness, ramp-up, a maximum concurrency over a rate), AIPerf's fixed-schedule
 * trace replay, and multi-turn sessions in a closed loop over any of them. Validates every field it reads.
 */
export function resolveArrivals(e: EngineConfig | undefined, benchmark: Benchmark, w: ArrivalWorkload): ArrivalResolution {
  // trtllm-bench latency's --concurrency defaults to 1.
  const concurrency = (e?.concurrency ?? 0) || (benchmark === "latency" ? 1 : 0);
  if (!Number.isInteger(concurrency) || concurrency < 0 || concurrency > MAX_INT32) {
    throw new InvalidArgumentError(`${F}.concurrency`, `must be an integer in [0, ${MAX_INT32}] (got ${concurrency})`);
  }
  const rate = e?.requestRate ?? 0;
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate < 0) {
    throw new InvalidArgumentError(`${F}.request_rate`, `must be a finite number >= 0 requests/s (got ${rate})`);
  }
  const seed = e?.seed ?? 0;
  const burstiness = e?.burstiness;
  if (burstiness !== undefined && !(typeof burstiness === "number" && burstiness > 0)) {
    throw new InvalidArgumentError(`${F}.burstiness`, `must be a number > 0 or +inf (got ${String(burstiness)})`);
  }
  const rampUp = resolveRampUp(e);
  if (rampUp && rate > 0) {
    throw new InvalidArgumentError(`${F}.request_rate`, "cannot be combined with ramp_up (the ramp-up sets every request's rate, as in vLLM)");
  }
  const replay = e?.replayTimestamps ?? false;
  const speedup = e?.traceSpeedup ?? 0;
  if (typeof speedup !== "number" || !Number.isFinite(speedup) || speedup < 0) {
    throw new InvalidArgumentError(`${F}.trace_speedup`, `must be a finite number > 0 (0 = 1; got ${speedup})`);
  }
  if (speedup > 0 && !replay) throw new InvalidArgumentError(`${F}.trace_speedup`, "needs replay_timestamps (it scales the replayed times)");
  if (replay && (rate > 0 || rampUp)) {
    throw new InvalidArgumentError(`${F}.replay_timestamps`, "cannot be combined with request_rate or ramp_up (the trace's timestamps place the requests)");
  }
  if (burstiness !== undefined && rate === 0 && !rampUp) {
    throw new InvalidArgumentError(`${F}.burstiness`, "needs request_rate or ramp_up (it shapes the gaps of a request rate)");
  }
  const mode = e?.sessionMode ?? SessionMode.SESSION_MODE_UNSPECIFIED;
  if (!Object.values(SessionMode).includes(mode) || mode === SessionMode.UNRECOGNIZED) {
    throw new InvalidArgumentError(`${F}.session_mode`, `unknown mode ${String(mode)} (CLOSED_LOOP or INDEPENDENT)`);
  }

  const warnings: string[] = [];
  const sessions = w.sessions && mode !== SessionMode.SESSION_MODE_INDEPENDENT ? sessionTurns(w.sessions, w.n) : undefined;
  if (w.sessions && !sessions) {
    warnings.push(
      `the dataset's ${w.sessions.count} sessions run as independent requests (session_mode INDEPENDENT: each turn's prompt carries its history, but turns do not wait for the previous one)`,
    );
  }
  if (w.timestampsMs && !replay) {
    warnings.push("the dataset's timestamps are not replayed: requests arrive as --concurrency / --request-rate say (--trace replays them)");
  }
  // The schedule places requests, or sessions' first turns when sessions run in a closed loop.
  const what = sessions ? "sessions" : "requests";
  let schedule: ScheduleArrivals | undefined;
  let description: string;
  if (replay) {
    if (!w.timestampsMs)
      throw new InvalidArgumentError(
        `${F}.replay_timestamps`,
        "the workload has no timestamps to replay (a trace with `timestamp`, or a CSV timestamp column)",
      );
    schedule = { kind: "trace", submitMs: replayTimes(w.timestampsMs, sessions, w.n, speedup || 1) };
    description = `trace replay${speedup > 0 && speedup !== 1 ? ` at ${speedup}x speed` : ""}`;
  } else if (rampUp) {
    schedule = { kind: "gamma", rate: Infinity, burstiness: burstiness ?? 1, seed: numpySeed(seed), rampUp };
    description = `${rampUp.strategy} ramp-up ${rampUp.startRps} -> ${rampUp.endRps} req/s, burstiness ${burstiness ?? 1}`;
  } else if (rate > 0 && burstiness !== undefined) {
    schedule = { kind: "gamma", rate, burstiness, seed: numpySeed(seed) };
    description = `gamma arrivals at ${rate} req/s, burstiness ${burstiness}`;
  } else if (rate > 0) {
    schedule = { kind: "poisson", rate, seed };
    description = `Poisson arrivals at ${rate} req/s`;
  } else {
    description = concurrency > 0 ? `at most ${concurrency} ${what} in flight` : "all at t = 0";
  }
  if (schedule && concurrency > 0) description += `, at most ${concurrency} ${what} in flight`;
  if (sessions) {
    const start = schedule ?? { kind: "all_at_once" as const };
    return {
      arrivals: { kind: "sessions", turns: sessions, start, limit: concurrency > 0 ? concurrency : Infinity },
      warnings,
      description: `${sessions.count} multi-turn sessions in a closed loop; session starts: ${description}`,
    };
  }
  let arrivals: Arrivals;
  if (schedule) arrivals = concurrency > 0 ? { kind: "max_concurrency", limit: concurrency, schedule } : schedule;
  else arrivals = concurrency > 0 ? { kind: "concurrency", concurrency } : { kind: "all_at_once" };
  return { arrivals, warnings, description };
}

function resolveRampUp(e: EngineConfig | undefined): { strategy: "linear" | "exponential"; startRps: number; endRps: number } | undefined {
  const r = e?.rampUp;
  if (r === undefined || r.strategy === RampUpStrategy.RAMP_UP_STRATEGY_UNSPECIFIED) {
    if (r && (r.startRps || r.endRps)) throw new InvalidArgumentError(`${F}.ramp_up.strategy`, "is required with start_rps / end_rps (LINEAR or EXPONENTIAL)");
    return undefined;
  }
  const strategy =
    r.strategy === RampUpStrategy.RAMP_UP_STRATEGY_LINEAR ? "linear" : r.strategy === RampUpStrategy.RAMP_UP_STRATEGY_EXPONENTIAL ? "exponential" : undefined;
  if (strategy === undefined) throw new InvalidArgumentError(`${F}.ramp_up.strategy`, `unknown strategy ${String(r.strategy)} (LINEAR or EXPONENTIAL)`);
  const { startRps, endRps } = r;
  if (typeof startRps !== "number" || !Number.isFinite(startRps) || startRps <= 0) {
    throw new InvalidArgumentError(`${F}.ramp_up.start_rps`, `must be a finite number > 0 requests/s (got ${startRps})`);
  }
  if (typeof endRps !== "number" || !Number.isFinite(endRps) || endRps < startRps) {
    throw new InvalidArgumentError(`${F}.ramp_up.end_rps`, `must be a finite number >= start_rps ${startRps} (got ${endRps})`);
  }
  return { strategy, startRps, endRps };
}

/** NumPy's legacy seed is 32 bits: vLLM's --seed is used as is, larger seeds are rejected. */
function numpySeed(seed: number): number {
  if (seed > 0xffffffff) throw new InvalidArgumentError(`${F}.seed`, `must be below 2^32 with burstiness or ramp_up (NumPy's np.random.seed; got ${seed})`);
  return seed;
}

/**
 * The sessions among the first n requests, renumbered by first appearance (a workload cut to n requests
 * may end inside a session; sessions past n are dropped).
 */
export function sessionTurns(s: Sessions, n: number): SessionTurns {
  const renumber = new Map<number, number>();
  const sessionOf = new Int32Array(n);
  const delayMs = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    delayMs[r] = s.delayMs[r]!;
    const k = s.sessionOf[r]!;
    let m = renumber.get(k);
    if (m === undefined) {
      m = renumber.size;
      renumber.set(k, m);
    }
    sessionOf[r] = m;
  }
  return { count: renumber.size, sessionOf, delayMs };
}

/** Per schedule unit (request, or session by its first turn), its timestamp divided by the speed-up. */
function replayTimes(ts: Float64Array, sessions: SessionTurns | undefined, n: number, speedup: number): Float64Array {
  const out = new Float64Array(sessions ? sessions.count : n);
  const seen = sessions ? new Uint8Array(sessions.count) : undefined;
  for (let r = 0; r < n; r++) {
    let unit = r;
    if (sessions && seen) {
      unit = sessions.sessionOf[r]!;
      if (seen[unit]) continue; // later turns follow their previous turn, not the clock
      seen[unit] = 1;
    }
    const t = ts[r]!;
    if (!Number.isFinite(t)) {
      throw new InvalidArgumentError(
        `${F}.replay_timestamps`,
        `request ${r} (the workload's row ${r + 1}) has no timestamp; a replayed trace needs one on every ${sessions ? "first turn" : "row"}`,
      );
    }
    out[unit] = t / speedup;
  }
  return out;
}
