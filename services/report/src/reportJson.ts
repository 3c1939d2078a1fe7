import { type PercentileStats, statisticLabel } from "@servesim/core";
import type { DatasetMetadata } from "@servesim/workload";
import type { GoodputMetrics } from "./goodput.js";
import type { RunMetrics } from "./metrics.js";
import { DEFAULT_EMULATED_VERSION, type ReportInput, worldSize } from "./reportInput.js";

/** A PercentileStats in trtllm-bench's key order (p50, p90, p95, p99, minimum, maximum, average). */
const stats = (p: PercentileStats): PercentileStats => ({
  p50: p.p50,
  p90: p.p90,
  p95: p.p95,
  p99: p.p99,
  minimum: p.minimum,
  maximum: p.maximum,
  average: p.average,
});

/** `DatasetMetadata.model_dump()`: fields, then the computed fields. */
export function datasetJson(d: DatasetMetadata): Record<string, unknown> {
  return {
    isl_stats: stats(d.islStats),
    osl_stats: stats(d.oslStats),
    seq_len_stats: stats(d.seqLenStats),
    num_requests: d.numRequests,
    dataset_path: d.datasetPath,
    max_isl: d.maxIsl,
    max_osl: d.maxOsl,
    max_sequence_length: d.maxSequenceLength,
    avg_isl: d.avgIsl,
    avg_osl: d.avgOsl,
    avg_sequence_length: d.avgSequenceLength,
  };
}

/** `{"p50": …, "p99.9": …, "average": …, "minimum": …, "maximum": …}` of one metric. */
function latencyJson(percentiles: number[], values: number[], s: PercentileStats): Record<string, number> {
  const o: Record<string, number> = {};
  percentiles.forEach((p, i) => {
    o[`p${p}`] = values[i]!;
  });
  o["average"] = s.average;
  o["minimum"] = s.minimum;
  o["maximum"] = s.maximum;
  return o;
}

/** `sim.goodput`: the objectives, the good requests and their rates, and each objective's outcome. */
export function goodputJson(g: GoodputMetrics): Record<string, unknown> {
  return {
    slo: g.slos.map((s) => ({ metric: s.metric, threshold_ms: s.thresholdMs, statistic: s.statistic === undefined ? null : statisticLabel(s.statistic) })),
    good_requests: g.goodRequests,
    total_requests: g.totalRequests,
    good_fraction: g.fraction,
    request_goodput_req_s: g.requestGoodputReqS,
    output_goodput_tok_s: g.outputGoodputTokS,
    request_goodput_per_gpu_req_s: g.requestGoodputPerGpuReqS,
    output_goodput_per_gpu_tok_s: g.outputGoodputPerGpuTokS,
    objectives: g.objectives.map((o) => ({
      metric: o.slo.metric,
      threshold_ms: o.slo.thresholdMs,
      statistic: o.slo.statistic === undefined ? null : statisticLabel(o.slo.statistic),
      met_requests: o.met,
      attainment: o.attainment,
      value_ms: o.value,
      statistic_met: o.statisticMet,
    })),
    slo_met: g.sloMet,
  };
}

/**
 * report.json (`ReportUtility.get_statistics_dict`, tensorrt_llm/bench/dataclasses/reporting.py): engine, world_info, request_info, performance,
 * streaming_metrics (always), dataset, then servesim's `sim` and `simulation`.
 */
export function buildReportJson(m: RunMetrics, input: ReportInput): Record<string, unknown> {
  const { engine: e, world: w, sim: s } = input;
  return {
    engine: {
      model: e.model,
      // trtllm-bench writes str(path): a missing path is the string "None".
      model_path: String(e.modelPath ?? "None"),
      engine_dir: "None",
      version: e.version ?? DEFAULT_EMULATED_VERSION,
      backend: "Pytorch",
      dtype: e.dtype,
      kv_cache_dtype: e.kvCacheDtype,
      quantization: e.quantization,
    },
    world_info: {
      tp_size: w.tp,
      pp_size: w.pp,
      ep_size: w.ep,
      world_size: worldSize(input),
      max_batch_size: w.maxBatchSize,
      max_num_tokens: w.maxNumTokens,
      scheduling_policy: w.schedulingPolicy.toUpperCase(),
      kv_cache_percentage: w.kvCacheFraction,
      issue_rate: m.issueRate,
    },
    request_info: {
      num_requests: m.numRequests,
      avg_num_concurrent_requests: m.avgConcurrentRequests,
      avg_input_length: m.avgInputLength,
      avg_output_length: m.avgOutputLength,
    },
    performance: {
      total_latency_ms: m.totalLatencyMs,
      avg_request_latency_ms: m.avgRequestLatencyMs,
      request_throughput_req_s: m.requestThroughputReqS,
      system_output_throughput_tok_s: m.systemOutputThroughputTokS,
      system_total_throughput_tok_s: m.systemTotalThroughputTokS,
      output_throughput_per_user_tok_s: m.outputThroughputPerUserTokS,
      output_throughput_per_gpu_tok_s: m.outputThroughputPerGpuTokS,
      request_latency_percentiles_ms: stats(m.requestLatencyMs),
    },
    streaming_metrics: {
      token_output_speed_tok_s: m.tokenOutputSpeedTokS,
      avg_ttft_ms: m.avgTtftMs,
      avg_tpot_ms: m.avgTpotMs,
      tpot_percentiles: stats(m.tpotMs),
      ttft_percentiles: stats(m.ttftMs),
      gen_tps_percentiles: stats(m.genTpsTokS),
    },
    dataset: datasetJson(input.dataset),
    sim: {
      simulated: true,
      predictor: s.predictorDescription,
      system: s.system,
      backend: s.backend,
      backend_version: s.backendVersion,
      database_path: s.databasePath,
      kv_num_blocks: s.numBlocks,
      tokens_per_block: s.tokensPerBlock,
      num_iterations: s.numIterations,
      num_prefill_iterations: s.numPrefillIterations,
      num_decode_iterations: s.numDecodeIterations,
      num_mixed_iterations: s.numMixedIterations,
      num_paused: s.numPaused,
      num_failed_requests: m.numFailed,
      failed_requests: m.failures.map((f) => ({ reason: f.reason, count: f.count })),
      issue_rate_req_s: m.issueRateReqS,
      approx_prompt_tokens: s.approxPromptTokens ?? false,
      itl_percentiles_ms: stats(m.itlMs),
      overlap_scheduler: s.overlapScheduler ?? false,
      ...(s.timingModel !== undefined ? { timing_model: s.timingModel } : {}),
      benchmark: s.benchmark ?? "throughput",
      attention_dp_ranks: s.attentionDpRanks ?? 1,
      ...(s.batchWait
        ? {
            batch_wait: {
              timeout_iters: s.batchWait.timeoutIters,
              max_tokens_ratio: s.batchWait.maxTokensRatio,
              max_num_tokens: s.batchWait.maxNumTokens,
            },
          }
        : {}),
      ...(s.attentionDpBalance
        ? { attention_dp_balance: { timeout_iters: s.attentionDpBalance.timeoutIters, batching_wait_iters: s.attentionDpBalance.batchingWaitIters } }
        : {}),
      speculative: s.speculative
        ? { decoding_type: s.speculative.kind, max_draft_len: s.speculative.maxDraftLen, mean_accepted_draft_tokens: s.speculative.meanAccepted }
        : null,
      latency_percentiles_ms: {
        ttft: latencyJson(m.latency.percentiles, m.latency.ttft, m.ttftMs),
        tpot: latencyJson(m.latency.percentiles, m.latency.tpot, m.tpotMs),
        itl: latencyJson(m.latency.percentiles, m.latency.itl, m.itlMs),
        e2el: latencyJson(m.latency.percentiles, m.latency.e2el, m.requestLatencyMs),
      },
      goodput: m.goodput ? goodputJson(m.goodput) : null,
      arrivals: s.arrivals ?? null,
    },
    simulation: {
      predictor: s.predictorDescription,
      iterations: s.numIterations,
      simulated_duration_ms: s.simulatedMs,
      wall_time_ms: s.wallMs,
    },
  };
}

/** report.json text, indented by 4 like trtllm-bench's `json.dumps(..., indent=4)`. */
export function renderReportJson(m: RunMetrics, input: ReportInput): string {
  return `${JSON.stringify(buildReportJson(m, input), null, 4)}\n`;
}
