import { describeSlo, type PercentileStats, statisticLabel } from "@servesim/core";
import type { DatasetMetadata } from "@servesim/workload";
import type { RunMetrics } from "./metrics.js";
import { formatExp, formatFixed } from "./pyFormat.js";
import { DEFAULT_EMULATED_VERSION, type ReportInput } from "./reportInput.js";

/** trtllm-bench's text report (`ReportUtility` in tensorrt_llm/bench/dataclasses/reporting.py) plus servesim's SIMULATION DETAILS. */

export const RULE = "=".repeat(59);

const f4 = (v: number): string => formatFixed(v, 4);
const none = (v: string | number | null | undefined): string => (v === null || v === undefined ? "None" : String(v));
const header = (title: string): string => `${RULE}\n${title}\n${RULE}\n`;

export function simBanner(predictorDescription: string): string {
  return `[SIM] servesim simulated run — no GPU used. Predictor: ${predictorDescription}. Results are predictions.`;
}

export function backendSection(input: ReportInput): string {
  const e = input.engine;
  return (
    header("= PYTORCH BACKEND") +
    `Model:\t\t\t${e.model}\n` +
    `Model Path:\t\t${none(e.modelPath)}\n` +
    `TensorRT LLM Version:\t${e.version ?? DEFAULT_EMULATED_VERSION}\n` +
    `Dtype:\t\t\t${e.dtype}\n` +
    `KV Cache Dtype:\t\t${none(e.kvCacheDtype)}\n` +
    `Quantization:\t\t${none(e.quantization)}\n` +
    "\n"
  );
}

export function requestSection(m: RunMetrics): string {
  return (
    header("= REQUEST DETAILS ") +
    `Number of requests:             ${m.numRequests}\n` +
    `Number of concurrent requests:  ${f4(m.avgConcurrentRequests)}\n` +
    `Average Input Length (tokens):  ${f4(m.avgInputLength)}\n` +
    `Average Output Length (tokens): ${f4(m.avgOutputLength)}\n`
  );
}

/**
 * The issue rate: requests over the span of their start times. trtllm-bench prints (span in ns / n) · 1e9
 * under this label, a unit slip (2.5E+17 for a rate of 4 req/s); that figure stays beside the true one,
 * labelled. Everything submitted at once prints 0.0000E+00, as trtllm-bench does.
 */
function issueRate(m: RunMetrics): string {
  if (m.issueRateReqS === null) return formatExp(m.issueRate, 4, true);
  return `${f4(m.issueRateReqS)} (trtllm-bench's unit quirk prints ${formatExp(m.issueRate, 4, true)})`;
}

export function worldSection(m: RunMetrics, input: ReportInput): string {
  const w = input.world;
  const kv = w.kvCacheFraction === null ? "None" : `${formatFixed(w.kvCacheFraction * 100.0, 2)}%`;
  return (
    header("= WORLD + RUNTIME INFORMATION ") +
    `TP Size:                ${w.tp}\n` +
    `PP Size:                ${w.pp}\n` +
    `EP Size:                ${none(w.ep)}\n` +
    `Max Runtime Batch Size: ${w.maxBatchSize}\n` +
    `Max Runtime Tokens:     ${w.maxNumTokens}\n` +
    `Scheduling Policy:      ${w.schedulingPolicy.toUpperCase()}\n` +
    `KV Memory Percentage:   ${kv}\n` +
    `Issue Rate (req/sec):   ${issueRate(m)}\n` +
    "\n"
  );
}

const BREAKDOWN_ORDER = ["minimum", "maximum", "average", "p50", "p90", "p95", "p99"] as const;
const LATENCY_ORDER = ["p50", "p90", "p95", "p99", "minimum", "maximum", "average"] as const;

function breakdown(tag: string, stats: PercentileStats, keys: readonly (keyof PercentileStats)[]): string {
  return keys.map((k) => `[${tag}] ${k.toUpperCase().padEnd(7)}: ${f4(stats[k])}`).join("\n");
}

export function performanceSection(m: RunMetrics): string {
  return (
    header("= PERFORMANCE OVERVIEW ") +
    `Request Throughput (req/sec):                     ${f4(m.requestThroughputReqS)}\n` +
    `Total Output Throughput (tokens/sec):             ${f4(m.systemOutputThroughputTokS)}\n` +
    `Total Token Throughput (tokens/sec):              ${f4(m.systemTotalThroughputTokS)}\n` +
    `Total Latency (ms):                               ${f4(m.totalLatencyMs)}\n` +
    `Average request latency (ms):                     ${f4(m.avgRequestLatencyMs)}\n` +
    `Per User Output Throughput [w/ ctx] (tps/user):   ${f4(m.outputThroughputPerUserTokS)}\n` +
    `Per GPU Output Throughput (tps/gpu):              ${f4(m.outputThroughputPerGpuTokS)}\n` +
    // Streaming block: trtllm-bench prints it only with --streaming; a simulation always knows token times.
    `Average time-to-first-token [TTFT] (ms):          ${f4(m.avgTtftMs)}\n` +
    `Average time-per-output-token [TPOT] (ms):        ${f4(m.avgTpotMs)}\n` +
    `Per User Output Speed (tps/user):                 ${f4(m.tokenOutputSpeedTokS)}\n` +
    "\n-- Per-Request Time-per-Output-Token [TPOT] Breakdown (ms)\n\n" +
    `${breakdown("TPOT", m.tpotMs, BREAKDOWN_ORDER)}\n` +
    "\n-- Per-Request Time-to-First-Token [TTFT] Breakdown (ms) \n\n" +
    `${breakdown("TTFT", m.ttftMs, BREAKDOWN_ORDER)}\n` +
    "\n-- Per-Request Generation Throughput [GTPS] Breakdown (tps/user)\n\n" +
    `${breakdown("GTPS", m.genTpsTokS, BREAKDOWN_ORDER)}\n` +
    "\n-- Request Latency Breakdown (ms) -----------------------\n\n" +
    `${breakdown("Latency", m.requestLatencyMs, LATENCY_ORDER)}\n`
  );
}

const pctLabel = (p: number): string => `P${p}`;

/**
 * servesim's LATENCY PERCENTILES section: TTFT, TPOT, ITL (every gap between consecutive tokens, pooled)
 * and e2e latency at the report's percentiles, then goodput when the job has objectives.
 */
export function latencySection(m: RunMetrics): string {
  const l = m.latency;
  const cell = (v: number): string => f4(v).padStart(14);
  const row = (label: string, values: number[]): string => `${label.padEnd(9)}${values.map(cell).join("")}\n`;
  let text =
    header("= LATENCY PERCENTILES (ms)") +
    `${"".padEnd(9)}${["TTFT", "TPOT", "ITL", "E2EL"].map((h) => h.padStart(14)).join("")}\n` +
    l.percentiles.map((p, i) => row(pctLabel(p), [l.ttft[i]!, l.tpot[i]!, l.itl[i]!, l.e2el[i]!])).join("") +
    row("AVERAGE", [m.ttftMs.average, m.tpotMs.average, m.itlMs.average, m.requestLatencyMs.average]) +
    row("MAXIMUM", [m.ttftMs.maximum, m.tpotMs.maximum, m.itlMs.maximum, m.requestLatencyMs.maximum]);
  const g = m.goodput;
  if (g) {
    const pct = (x: number): string => `${f4(x * 100)}%`;
    const line = (label: string, value: string): string => `${`${label}:`.padEnd(40)}${value}\n`;
    text +=
      `\n-- Goodput (SLO: ${g.slos.map(describeSlo).join(", ")})\n\n` +
      line("Good Requests", `${g.goodRequests} of ${g.totalRequests} (${pct(g.fraction)})`) +
      line("Request Goodput (req/sec)", f4(g.requestGoodputReqS)) +
      line("Output Goodput (tokens/sec)", f4(g.outputGoodputTokS)) +
      line("Per GPU Request Goodput (req/sec/gpu)", f4(g.requestGoodputPerGpuReqS)) +
      line("Per GPU Output Goodput (tps/gpu)", f4(g.outputGoodputPerGpuTokS)) +
      g.objectives
        .map((o) => {
          const stat =
            o.slo.statistic === undefined || o.value === null
              ? ""
              : `; ${statisticLabel(o.slo.statistic)} = ${f4(o.value)} ms: ${o.statisticMet ? "met" : "MISSED"}`;
          return line(`[${describeSlo(o.slo)}]`, `met by ${o.met} (${pct(o.attainment)})${stat}`);
        })
        .join("") +
      (g.objectives.some((o) => o.statisticMet !== null) ? line("Run-Level Objectives Met", g.sloMet ? "yes" : "no") : "");
  }
  return text;
}

/** `DatasetMetadata._format_number`: `{v:9.4f}` below 100000, else `{v:9.2e}`. */
export function datasetCell(v: number): string {
  return (v >= 100000 ? formatExp(v, 2) : formatFixed(v, 4)).padStart(9);
}

export function datasetSection(d: DatasetMetadata): string {
  const rows: [string, keyof PercentileStats][] = [
    ["MIN", "minimum"],
    ["MAX", "maximum"],
    ["AVG", "average"],
    ["P50", "p50"],
    ["P90", "p90"],
    ["P95", "p95"],
    ["P99", "p99"],
  ];
  const table = rows
    .map(([label, k]) => `${label}:  ${datasetCell(d.islStats[k])}          ${datasetCell(d.oslStats[k])}          ${datasetCell(d.seqLenStats[k])}\n`)
    .join("");
  return (
    "\n" +
    header("= DATASET DETAILS") +
    `Dataset Path:         ${none(d.datasetPath)}\n` +
    `Number of Sequences:  ${d.numRequests}\n` +
    "\n-- Percentiles statistics ---------------------------------\n\n" +
    "        Input              Output           Seq. Length\n" +
    "-----------------------------------------------------------\n" +
    table +
    `${RULE}\n`
  );
}

const SIM_LABEL_WIDTH = 26;
const simLine = (label: string, value: string | number): string => `${`${label}:`.padEnd(SIM_LABEL_WIDTH)}${value}\n`;

export function simulationSection(m: RunMetrics, input: ReportInput): string {
  const s = input.sim;
  let failures = simLine("Failed Requests", m.numFailed);
  for (const f of m.failures) failures += `  [${f.count}x] ${f.reason}\n`;
  return (
    "\n" +
    header("= SIMULATION DETAILS") +
    simLine("Predictor", s.predictorDescription) +
    (s.benchmark === "latency" ? simLine("Benchmark", "latency (one request at a time, max_batch_size 1)") : "") +
    simLine("System", s.system) +
    simLine("Backend", `${s.backend} ${s.backendVersion}`) +
    simLine("Database Path", none(s.databasePath)) +
    simLine("KV Cache Blocks", s.numBlocks) +
    simLine("Tokens per Block", s.tokensPerBlock) +
    (s.overlapScheduler !== undefined ? simLine("Overlap Scheduler", s.overlapScheduler ? "on" : "off") : "") +
    (s.timingModel !== undefined ? simLine("Timing Model", s.timingModel) : "") +
    ((s.attentionDpRanks ?? 1) > 1 ? simLine("Attention DP Ranks", `${s.attentionDpRanks} (batch, token budget and KV blocks per rank)`) : "") +
    (s.batchWait
      ? simLine(
          "Batch Waiting",
          `contexts held up to ${s.batchWait.timeoutIters} iterations or until ${s.batchWait.maxTokensRatio} × ${s.batchWait.maxNumTokens} tokens are scheduled`,
        )
      : "") +
    (s.attentionDpBalance
      ? simLine(
          "Attention DP Balance",
          `contexts wait for every rank (up to ${s.attentionDpBalance.timeoutIters} iterations; ${s.attentionDpBalance.batchingWaitIters} more to batch them)`,
        )
      : "") +
    (s.speculative
      ? simLine(
          "Speculative Decoding",
          `${s.speculative.kind === "mtp" ? "MTP" : "Eagle3"}, ${s.speculative.maxDraftLen} drafts per step, ${s.speculative.meanAccepted.toFixed(2)} accepted on average`,
        )
      : "") +
    simLine("Iterations", s.numIterations) +
    simLine("Prefill Iterations", s.numPrefillIterations) +
    simLine("Decode Iterations", s.numDecodeIterations) +
    simLine("Mixed Iterations", s.numMixedIterations) +
    simLine("Paused Requests", s.numPaused) +
    failures +
    (s.approxPromptTokens ? simLine("Prompt Lengths", "approximated as ceil(characters / 4)") : "") +
    simLine("Simulated Duration (ms)", f4(s.simulatedMs)) +
    simLine("Wall Time (ms)", f4(s.wallMs)) +
    `${RULE}\n`
  );
}

/** The whole report: banner, trtllm-bench sections in order, then SIMULATION DETAILS. */
export function renderTextReport(m: RunMetrics, input: ReportInput): string {
  return (
    `${simBanner(input.sim.predictorDescription)}\n\n` +
    backendSection(input) +
    requestSection(m) +
    worldSection(m, input) +
    performanceSection(m) +
    (input.report ? `\n${latencySection(m)}` : "") +
    datasetSection(input.dataset) +
    simulationSection(m, input)
  );
}
