import { InvalidArgumentError } from "@servesim/core";
import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";
import { planSchedule, type ScheduleArrivals, validateLimit, validateSchedule } from "./schedules.js";
import { type SessionTurns, sessionClosedLoop } from "./sessionLoop.js";

/**
 * Multi-turn sessions in a closed loop (sessionLoop.ts): `start` places the sessions' first turns (its
 * items are sessions, by session number), `limit` bounds the sessions in flight.
 */
export interface SessionsArrivals {
  kind: "sessions";
  turns: SessionTurns;
  start: ScheduleArrivals;
  limit: number;
}

export const sessions = {
  kind: "sessions",
  description: "multi-turn sessions: each turn its think time after the previous turn ends; sessions start on a schedule, at most `limit` at once",
  clockFree: false,
  validate: (spec: SessionsArrivals, n: number, field: string) => {
    const t = spec.turns;
    if (t === null || typeof t !== "object") throw new InvalidArgumentError(`${field}.turns`, "is required");
    const count = t.count;
    if (!Number.isInteger(count) || count < 1 || count > n)
      throw new InvalidArgumentError(`${field}.turns.count`, `must be an integer in [1, ${n}] (got ${String(count)})`);
    if (t.sessionOf?.length !== n || t.delayMs?.length !== n) {
      throw new InvalidArgumentError(`${field}.turns`, `sessionOf and delayMs must hold one entry per request (${n})`);
    }
    const seen = new Uint8Array(count);
    for (let r = 0; r < n; r++) {
      const k = t.sessionOf[r];
      if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k >= count) {
        throw new InvalidArgumentError(`${field}.turns.sessionOf[${r}]`, `must be a session in [0, ${count}) (got ${String(k)})`);
      }
      seen[k] = 1;
      const d = t.delayMs[r];
      if (typeof d !== "number" || !Number.isFinite(d) || d < 0) {
        throw new InvalidArgumentError(`${field}.turns.delayMs[${r}]`, `must be a finite think time >= 0 ms (got ${String(d)})`);
      }
    }
    const empty = seen.indexOf(0);
    if (empty >= 0) throw new InvalidArgumentError(`${field}.turns.sessionOf`, `session ${empty} has no turn`);
    validateSchedule(spec.start, count, `${field}.start`);
    validateLimit(spec.limit, `${field}.limit`);
  },
  plan: (spec: SessionsArrivals, n: number) => {
    const starts = planSchedule(spec.start, spec.turns.count);
    return {
      order: identityOrder(n),
      submitMs: new Float64Array(n),
      initiallySubmitted: 0,
      concurrency: 0,
      reactive: sessionClosedLoop(spec.turns, n, starts.order, starts.submitMs, spec.limit),
    };
  },
} as const satisfies ArrivalProcessDef<SessionsArrivals>;
