import type { RequestRecord, Slo, SloMetric } from "@servesim/core";
import { checkPercentiles, checkSlos, DEFAULT_PERCENTILES, type PercentileStats, percentileOfSorted, percentileStatsInPlace } from "@servesim/core";
import { computeGoodput, type GoodputMetrics, type LatencyPercentiles, lookupStatistic, maxInterTokenGaps } from "./goodput.js";
import { interTokenGapDistribution } from "./interTokenGaps.js";

/** One request's trtllm-bench fields (`RequestRecord` in tensorrt_llm/bench/dataclasses/statistics.py). Times in ms, rates per second. */
export interface RequestMetrics {
  taskId: number;
  inputLength: number;
  /** `num_total_output_tokens` (first token included). */
  outputLength: number;
  numGeneratedTokens: number;
  startMs: number;
  firstTokenMs: number;
  endMs: number;
  ttftMs: number;
  e2eMs: number;
  generationTimeMs: number;
  /** `intertoken_latency`: (end − first token) / (n − 1), 0 for one token. */
  tpotMs: number;
  /** GTPS: generated tokens / generation time; 0 when there is no generation time (n = 1). */
  generationTokenThroughputTokS: number;
  /** "[w/ ctx]": output tokens / e2e. */
  outputTokenThroughputTokS: number;
}

export interface FailureSummary {
  reason: string;
  count: number;
}

/** Run aggregates (`StatsKeeper.generate_statistics_summary`, tensorrt_llm/bench/dataclasses/reporting.py) over the requests that completed. */
export interface RunMetrics {
  /** Completed requests (errored ones are excluded from every aggregate). */
  numRequests: number;
  numFailed: number;
  failures: FailureSummary[];
  totalInputTokens: number;
  totalOutputTokens: number;
  totalLatencyMs: number;
  requestThroughputReqS: number;
  systemOutputThroughputTokS: number;
  systemTotalThroughputTokS: number;
  outputThroughputPerUserTokS: number;
  outputThroughputPerGpuTokS: number;
  /** `token_output_speed_tok_s`: mean GTPS. */
  tokenOutputSpeedTokS: number;
  avgRequestLatencyMs: number;
  avgTtftMs: number;
  avgTpotMs: number;
  avgConcurrentRequests: number;
  /** trtllm-bench's value, unit quirk included: ((max start − min start) / n in ns) × 1e9. */
  issueRate: number;
  /** Requests per second between the first and last start; null when all started together. */
  issueRateReqS: number | null;
  avgInputLength: number;
  avgOutputLength: number;
  requestLatencyMs: PercentileStats;
  ttftMs: PercentileStats;
  tpotMs: PercentileStats;
  /** Every inter-token gap of every request, pooled (no trtllm-bench equivalent). */
  itlMs: PercentileStats;
  genTpsTokS: PercentileStats;
  /** TTFT, TPOT, ITL and e2e latency at the report's percentiles (default 50, 90, 95, 99). */
  latency: LatencyPercentiles;
  /** The requests meeting every objective (null when the run has none). */
  goodput: GoodputMetrics | null;
  /** The per-request fields of every completed request, built on first access (a million objects for a large run). */
  readonly perRequest: RequestMetrics[];
}

/** The per-request fields of one request. */
export function requestMetrics(r: RequestRecord): RequestMetrics {
  const n = r.outputLength;
  const ttftMs = r.firstTokenMs - r.startMs;
  const e2eMs = r.endMs - r.startMs;
  const generationTimeMs = e2eMs - ttftMs;
  const numGeneratedTokens = n - 1;
  return {
    taskId: r.taskId,
    inputLength: r.inputLength,
    outputLength: n,
    numGeneratedTokens,
    startMs: r.startMs,
    firstTokenMs: r.firstTokenMs,
    endMs: r.endMs,
    ttftMs,
    e2eMs,
    generationTimeMs,
    tpotMs: numGeneratedTokens > 0 ? (r.endMs - r.firstTokenMs) / numGeneratedTokens : 0,
    generationTokenThroughputTokS: generationTimeMs > 0 ? numGeneratedTokens / (generationTimeMs / 1000) : 0,
    outputTokenThroughputTokS: e2eMs > 0 ? n / (e2eMs / 1000) : 0,
  };
}

function summarizeFailures(records: readonly RequestRecord[]): FailureSummary[] {
  const counts = new Map<string, number>();
  for (const r of records) if (r.error !== undefined) counts.set(r.error, (counts.get(r.error) ?? 0) + 1);
  // Most frequent first; Map iteration keeps first-seen order among equals (stable sort).
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
}

const rate = (count: number, ms: number): number => (ms > 0 ? count / (ms / 1000) : 0);

/**
 * trtllm-bench's statistics over a run. `worldSize` = tp × pp (per-GPU throughput). With no completed
 * request every aggregate is 0. O(requests) memory: the per-request columns are typed arrays, the
 * inter-token gaps are never materialised, and `perRequest` is built on first access.
 */
export interface MetricsOptions {
  /** GPUs of the run (tp × pp) for the per-GPU figures; default 1. */
  worldSize?: number;
  /** Percentiles of TTFT, TPOT, ITL and e2e latency to report; default 50, 90, 95, 99. */
  percentiles?: readonly number[];
  /** Goodput objectives; none: no goodput. */
  slos?: readonly Slo[];
}

export function computeMetrics(records: readonly RequestRecord[], options: MetricsOptions = {}): RunMetrics {
  const worldSize = options.worldSize ?? 1;
  const percentiles = checkPercentiles(options.percentiles ?? DEFAULT_PERCENTILES);
  const slos = checkSlos(options.slos ?? []);
  const done = records.filter((r) => r.error === undefined);
  const n = done.length;

  let minStart = Infinity;
  let maxStart = -Infinity;
  let maxEnd = -Infinity;
  let totalInputTokens = 0;
  let totalOutputTokens = 0;
  let sumE2e = 0;
  const e2e = new Float64Array(n);
  const ttft = new Float64Array(n);
  const tpot = new Float64Array(n);
  const genTps = new Float64Array(n);
  const perUser = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = requestMetrics(done[i]!);
    minStart = Math.min(minStart, m.startMs);
    maxStart = Math.max(maxStart, m.startMs);
    maxEnd = Math.max(maxEnd, m.endMs);
    totalInputTokens += m.inputLength;
    totalOutputTokens += m.outputLength;
    sumE2e += m.e2eMs;
    e2e[i] = m.e2eMs;
    ttft[i] = m.ttftMs;
    tpot[i] = m.tpotMs;
    genTps[i] = m.generationTokenThroughputTokS;
    perUser[i] = m.outputTokenThroughputTokS;
  }
  const totalLatencyMs = n > 0 ? maxEnd - minStart : 0;
  const issueSpanMs = n > 0 ? maxStart - minStart : 0;
  const tokenTimes = done.map((r) => r.tokenTimesMs);
  // Goodput judges each request, so it needs the columns before they are sorted.
  const columns =
    slos.length > 0
      ? {
          ttft: ttft.slice(),
          tpot: tpot.slice(),
          e2el: e2e.slice(),
          outputLength: done.map((r) => r.outputLength),
          ...(slos.some((s) => s.metric === "itl") ? { maxGap: maxInterTokenGaps(tokenTimes) } : {}),
        }
      : undefined;
  // The report's percentiles and those the objectives bound.
  const wanted = [...new Set([...percentiles, ...slos.flatMap((s) => (typeof s.statistic === "number" ? [s.statistic] : []))])].sort((a, b) => a - b);

  const requestLatencyMs = percentileStatsInPlace(e2e);
  const ttftMs = percentileStatsInPlace(ttft);
  const tpotMs = percentileStatsInPlace(tpot);
  const itl = interTokenGapDistribution(tokenTimes, wanted);
  const at: Record<SloMetric, Map<number, number>> = {
    ttft: new Map(wanted.map((p) => [p, percentileOfSorted(ttft, p)])),
    tpot: new Map(wanted.map((p) => [p, percentileOfSorted(tpot, p)])),
    itl: new Map(wanted.map((p, i) => [p, itl.at[i]!])),
    e2el: new Map(wanted.map((p) => [p, percentileOfSorted(e2e, p)])),
  };
  const latency: LatencyPercentiles = {
    percentiles,
    ttft: percentiles.map((p) => at.ttft.get(p)!),
    tpot: percentiles.map((p) => at.tpot.get(p)!),
    itl: percentiles.map((p) => at.itl.get(p)!),
    e2el: percentiles.map((p) => at.e2el.get(p)!),
  };
  const goodput = columns
    ? computeGoodput(
        slos,
        columns,
        { totalRequests: records.length, durationMs: totalLatencyMs, worldSize },
        lookupStatistic({ ttft: ttftMs, tpot: tpotMs, itl: itl.stats, e2el: requestLatencyMs }, at),
      )
    : null;
  const genTpsTokS = percentileStatsInPlace(genTps);
  const perUserOutput = percentileStatsInPlace(perUser);
  const systemOutputThroughputTokS = rate(totalOutputTokens, totalLatencyMs);

  let perRequest: RequestMetrics[] | undefined;
  return {
    numRequests: n,
    numFailed: records.length - n,
    failures: summarizeFailures(records),
    totalInputTokens,
    totalOutputTokens,
    totalLatencyMs,
    requestThroughputReqS: rate(n, totalLatencyMs),
    systemOutputThroughputTokS,
    systemTotalThroughputTokS: rate(totalInputTokens + totalOutputTokens, totalLatencyMs),
    outputThroughputPerUserTokS: perUserOutput.average,
    outputThroughputPerGpuTokS: systemOutputThroughputTokS / worldSize,
    tokenOutputSpeedTokS: genTpsTokS.average,
    avgRequestLatencyMs: requestLatencyMs.average,
    avgTtftMs: ttftMs.average,
    avgTpotMs: tpotMs.average,
    avgConcurrentRequests: totalLatencyMs > 0 ? sumE2e / totalLatencyMs : 0,
    issueRate: n > 0 ? ((issueSpanMs * 1e6) / n) * 1e9 : 0,
    issueRateReqS: issueSpanMs > 0 ? n / (issueSpanMs / 1000) : null,
    avgInputLength: n > 0 ? totalInputTokens / n : 0,
    avgOutputLength: n > 0 ? totalOutputTokens / n : 0,
    requestLatencyMs,
    ttftMs,
    tpotMs,
    itlMs: itl.stats,
    genTpsTokS,
    latency,
    goodput,
    get perRequest(): RequestMetrics[] {
      return (perRequest ??= done.map(requestMetrics));
    },
  };
}
