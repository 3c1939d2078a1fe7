import { loadavg } from "node:os";

/** One repetition of a case: named figures (times in ms, counts, rates). */
export type Sample = Record<string, number>;

/** What a child process reports for one case. */
export interface CaseResult {
  id: string;
  title: string;
  samples: Sample[];
  /** Peak RSS of the process that ran the engine (bytes). */
  peakRssBytes: number;
  /** Peak RSS of each service process (bytes), when any. */
  servicePeakRss: Record<string, number>;
  loadBefore: number[];
  loadAfter: number[];
  notes: string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function medianOf(samples: readonly Sample[], key: string): number {
  return median(samples.map((s) => s[key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v)));
}

/** Wall time of `fn` in ms, with its value. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Peak RSS of this process in bytes (getrusage maxrss). */
export const selfPeakRss = (): number => process.resourceUsage().maxRSS * 1024;

export const load = (): number[] => loadavg().map((v) => Math.round(v * 100) / 100);

/** Lets the garbage collector settle between repetitions when node runs with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}
