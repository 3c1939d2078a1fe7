/**
 * One CSV / JSONL row per point: the point (id, label, settings), then every metric. The metric columns
 * are one table, so the CSV header, the JSONL keys, the HTML table and the search ranking agree.
 */
import type { RunMetrics } from "@servesim/report";
import type { JobOutcome } from "@servesim/runner";
import type { SettingValue } from "./dimensions.js";

export type MetricValue = number | boolean | null;

export interface SweepRow {
  id: string;
  index: number;
  label: string;
  settings: Record<string, SettingValue>;
  status: "ok" | "failed";
  /** Why the point failed (a setting the model cannot run with, ...). */
  error?: string;
  metrics: Record<string, MetricValue>;
}

interface Column {
  key: string;
  label: string;
  digits?: number;
  value(m: RunMetrics, o: RowContext): MetricValue;
}

export interface RowContext {
  gpus: number;
  iterations: number;
  simulatedMs: number;
  maxBatchSize: number;
  maxNumTokens: number;
  kvBlocks: number;
  wallMs: number;
}

const FIXED: Column[] = [
  { key: "gpus", label: "GPUs", value: (_, c) => c.gpus },
  { key: "max_batch_size_used", label: "max batch size", value: (_, c) => c.maxBatchSize },
  { key: "max_num_tokens_used", label: "max num tokens", value: (_, c) => c.maxNumTokens },
  { key: "kv_blocks", label: "KV blocks", value: (_, c) => c.kvBlocks },
  { key: "num_requests", label: "requests", value: (m) => m.numRequests },
  { key: "num_failed", label: "failed requests", value: (m) => m.numFailed },
  { key: "request_throughput_req_s", label: "req/s", digits: 3, value: (m) => m.requestThroughputReqS },
  { key: "output_tok_s", label: "output tok/s", digits: 1, value: (m) => m.systemOutputThroughputTokS },
  { key: "output_tok_s_per_gpu", label: "output tok/s/GPU", digits: 1, value: (m) => m.outputThroughputPerGpuTokS },
  { key: "output_tok_s_per_user", label: "output tok/s/user", digits: 2, value: (m) => m.tokenOutputSpeedTokS },
  { key: "avg_concurrency", label: "avg concurrency", digits: 2, value: (m) => m.avgConcurrentRequests },
  { key: "ttft_avg_ms", label: "TTFT avg (ms)", digits: 2, value: (m) => m.ttftMs.average },
  { key: "tpot_avg_ms", label: "TPOT avg (ms)", digits: 3, value: (m) => m.tpotMs.average },
  { key: "itl_avg_ms", label: "ITL avg (ms)", digits: 3, value: (m) => m.itlMs.average },
  { key: "e2el_avg_ms", label: "E2EL avg (ms)", digits: 1, value: (m) => m.requestLatencyMs.average },
];

const GOODPUT: Column[] = [
  { key: "good_requests", label: "good requests", value: (m) => m.goodput?.goodRequests ?? null },
  { key: "good_fraction", label: "good fraction", digits: 4, value: (m) => m.goodput?.fraction ?? null },
  { key: "request_goodput_req_s", label: "goodput (req/s)", digits: 3, value: (m) => m.goodput?.requestGoodputReqS ?? null },
  { key: "request_goodput_per_gpu", label: "goodput (req/s/GPU)", digits: 4, value: (m) => m.goodput?.requestGoodputPerGpuReqS ?? null },
  { key: "output_goodput_tok_s_per_gpu", label: "goodput (tok/s/GPU)", digits: 1, value: (m) => m.goodput?.outputGoodputPerGpuTokS ?? null },
  { key: "slo_met", label: "SLO met", value: (m) => m.goodput?.sloMet ?? null },
];

const TAIL: Column[] = [
  { key: "iterations", label: "iterations", value: (_, c) => c.iterations },
  { key: "simulated_s", label: "simulated (s)", digits: 2, value: (_, c) => c.simulatedMs / 1000 },
  { key: "wall_ms", label: "wall (ms)", digits: 0, value: (_, c) => c.wallMs },
];

/** Percentile columns: ttft_p90_ms, ..., itl_p99.9_ms. */
function percentileColumns(percentiles: readonly number[]): Column[] {
  const metrics = [
    ["ttft", "TTFT"],
    ["tpot", "TPOT"],
    ["itl", "ITL"],
    ["e2el", "E2EL"],
  ] as const;
  return metrics.flatMap(([k, label]) =>
    percentiles.map(
      (p, i): Column => ({
        key: `${k}_p${p}_ms`,
        label: `${label} p${p} (ms)`,
        digits: 3,
        value: (m) => m.latency[k][i] ?? null,
      }),
    ),
  );
}

/** The metric columns of a sweep, in order (goodput columns only with objectives). */
export function metricColumns(percentiles: readonly number[], withGoodput: boolean): { key: string; label: string; digits?: number }[] {
  return columnsOf(percentiles, withGoodput).map(({ key, label, digits }) => ({ key, label, ...(digits !== undefined ? { digits } : {}) }));
}

function columnsOf(percentiles: readonly number[], withGoodput: boolean): Column[] {
  return [...FIXED, ...percentileColumns(percentiles), ...(withGoodput ? GOODPUT : []), ...TAIL];
}

/** A finished point's row. */
export function rowOf(point: Omit<SweepRow, "status" | "metrics" | "error">, m: RunMetrics, ctx: RowContext, withGoodput: boolean): SweepRow {
  const metrics: Record<string, MetricValue> = {};
  for (const c of columnsOf(m.latency.percentiles, withGoodput)) {
    const v = c.value(m, ctx);
    metrics[c.key] = typeof v === "number" && !Number.isFinite(v) ? null : v;
  }
  return { ...point, status: "ok", metrics };
}

/** A finished job's row (what runResolvedJob returned). */
export function rowOfOutcome(point: Omit<SweepRow, "status" | "metrics" | "error">, o: JobOutcome, gpus: number, withGoodput: boolean): SweepRow {
  return rowOf(
    point,
    o.metrics,
    {
      gpus,
      iterations: o.result.numIterations,
      simulatedMs: o.result.simulatedMs,
      maxBatchSize: o.reportInput.world.maxBatchSize,
      maxNumTokens: o.reportInput.world.maxNumTokens,
      kvBlocks: o.result.numBlocks,
      wallMs: o.wallMs,
    },
    withGoodput,
  );
}

export function failedRow(point: Omit<SweepRow, "status" | "metrics" | "error">, error: string): SweepRow {
  return { ...point, status: "failed", error, metrics: {} };
}
