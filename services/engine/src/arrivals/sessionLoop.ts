import type { ReactiveArrivals } from "./reactive.js";

/** The turns of multi-turn sessions, per request (dataset index), turns of a session in dataset order. */
export interface SessionTurns {
  /** Number of sessions. */
  count: number;
  /** Per request: its session in [0, count). */
  sessionOf: ArrayLike<number>;
  /** Per request: think time (ms) between the end of the session's previous turn and this turn. */
  delayMs: ArrayLike<number>;
}

/** Per request, the next turn of its session (-1 after the last); per session, its first turn. */
export function linkTurns(s: SessionTurns, n: number): { firstTurn: Int32Array; nextTurn: Int32Array } {
  const firstTurn = new Int32Array(s.count).fill(-1);
  const lastTurn = new Int32Array(s.count).fill(-1);
  const nextTurn = new Int32Array(n).fill(-1);
  for (let r = 0; r < n; r++) {
    const k = s.sessionOf[r]!;
    if (lastTurn[k]! < 0) firstTurn[k] = r;
    else nextTurn[lastTurn[k]!] = r;
    lastTurn[k] = r;
  }
  return { firstTurn, nextTurn };
}

/**
 * Multi-turn sessions in a closed loop (AIPerf's and vLLM's multi-turn benchmarks): a session's first
 * turn is sent when the session starts; each later turn `delayMs` (the user's think time) after the
 * previous turn's last token. Sessions start at `startMs` (by session, in `startOrder`); with a limit, at
 * most `limit` sessions are in flight (a session holds its slot from its first turn to the end of its
 * last, AIPerf's conversation-centric concurrency) and a waiting session starts at max(its start time,
 * the time a slot frees).
 */
export function sessionClosedLoop(s: SessionTurns, n: number, startOrder: Int32Array, startMs: ArrayLike<number>, limit: number): ReactiveArrivals {
  const { firstTurn, nextTurn } = linkTurns(s, n);
  let nextSession = 0;
  return {
    begin(submit) {
      const first = Math.min(limit, startOrder.length);
      for (; nextSession < first; nextSession++) {
        const k = startOrder[nextSession]!;
        submit(firstTurn[k]!, startMs[k]!);
      }
    },
    ended(r, tMs, submit) {
      const nx = nextTurn[r]!;
      if (nx >= 0) {
        submit(nx, tMs + s.delayMs[nx]!);
      } else if (nextSession < startOrder.length) {
        const k = startOrder[nextSession++]!;
        submit(firstTurn[k]!, Math.max(startMs[k]!, tMs));
      }
    },
  };
}
