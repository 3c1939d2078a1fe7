import { describeSlo, type IterationStats, type RequestRecord, type SloMetric } from "@servesim/core";
import { interTokenGapDistribution, type RunMetrics } from "@servesim/report";
import { COLORS, type GuideLine, lineChart } from "./charts.js";
import { type Block, type ChartBlock, type PageSpec, renderPage } from "./page.js";
import { cdfPoints, minMaxDecimate, type Point } from "./series.js";

/** What the page says about the run's setup (read from its report.json). */
export interface RunHeader {
  model: string;
  system: string;
  tp: number;
  pp: number;
  ep: number | null;
  maxBatchSize: number;
  maxNumTokens: number;
  schedulingPolicy: string;
  predictor: string;
  datasetPath: string | null;
  simulatedMs: number;
  iterations: number;
}

/** The header of a run from its report.json (the same in every mode: embedded or a scheduler job). */
export function runHeaderFromReportJson(report: Record<string, unknown>): RunHeader {
  const o = (k: string): Record<string, unknown> => (report[k] ?? {}) as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === "number" ? v : 0);
  const str = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
  const w = o("world_info");
  return {
    model: str(o("engine")["model"]),
    system: str(o("sim")["system"]),
    tp: num(w["tp_size"]),
    pp: num(w["pp_size"]),
    ep: typeof w["ep_size"] === "number" ? w["ep_size"] : null,
    maxBatchSize: num(w["max_batch_size"]),
    maxNumTokens: num(w["max_num_tokens"]),
    schedulingPolicy: str(w["scheduling_policy"]),
    predictor: str(o("sim")["predictor"]),
    datasetPath: typeof o("dataset")["dataset_path"] === "string" ? (o("dataset")["dataset_path"] as string) : null,
    simulatedMs: num(o("simulation")["simulated_duration_ms"]),
    iterations: num(o("sim")["num_iterations"]),
  };
}

/** Everything the run report draws. */
export interface RunHtmlInput {
  /** Page title (default: "servesim run: <model> on <system>"). */
  title?: string;
  header: RunHeader;
  metrics: RunMetrics;
  /** The measured requests (their latency distributions). */
  records: readonly RequestRecord[];
  /** The measured iterations (batch, tokens, KV and queue over simulated time). */
  iterations: readonly IterationStats[];
  /** trtllm-bench's text report, shown folded at the end. */
  reportText?: string;
}

/** At most this many points per CDF, and 2 × this many per iteration series. */
export const CDF_POINTS = 400;
export const ITERATION_BUCKETS = 1000;

const f = (v: number, digits = 1): string => v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function sortedColumn(records: readonly RequestRecord[], pick: (r: RequestRecord) => number): Float64Array {
  const done = records.filter((r) => r.error === undefined);
  return Float64Array.from(done, pick).sort();
}

/** Objectives on a metric as vertical threshold lines of its CDF. */
function sloGuides(m: RunMetrics, metric: SloMetric): GuideLine[] {
  return (m.goodput?.slos ?? []).filter((s) => s.metric === metric).map((s) => ({ axis: "x", value: s.thresholdMs, label: describeSlo(s) }));
}

function cdfBlock(id: string, title: string, metric: SloMetric, points: Point[], m: RunMetrics, what: string, color: string): ChartBlock {
  return {
    kind: "chart",
    id,
    title,
    half: true,
    height: 300,
    note: `${what}; ${points.length} points${m.goodput?.slos.some((s) => s.metric === metric) ? "; dashed: the objective" : ""}`,
    option: lineChart({
      xName: `${title.split(" ")[0]} (ms)`,
      yName: "fraction of requests",
      series: [{ name: title, color, points, symbolSize: 4 }],
      guides: sloGuides(m, metric),
      yMin: 0,
      yMax: 1,
    }),
  };
}

/** The latency CDFs: TTFT, TPOT and e2e per request; ITL over every gap of every request. */
function latencyCharts(input: RunHtmlInput): ChartBlock[] {
  const { records, metrics: m } = input;
  const done = records.filter((r) => r.error === undefined);
  const n = done.length;
  const ttft = cdfPoints(
    sortedColumn(records, (r) => r.firstTokenMs - r.startMs),
    CDF_POINTS,
  );
  const tpot = cdfPoints(
    sortedColumn(records, (r) => (r.outputLength > 1 ? (r.endMs - r.firstTokenMs) / (r.outputLength - 1) : 0)),
    CDF_POINTS,
  );
  const e2e = cdfPoints(
    sortedColumn(records, (r) => r.endMs - r.startMs),
    CDF_POINTS,
  );
  const gaps = done.reduce((sum, r) => sum + Math.max(0, r.tokenTimesMs.length - 1), 0);
  // ITL pools every gap: the CDF at k evenly spaced fractions of them (nearest rank).
  const k = Math.min(CDF_POINTS, gaps);
  const ps = Array.from({ length: k }, (_, i) => (100 * (i + 1)) / k);
  const itlValues =
    k > 0
      ? interTokenGapDistribution(
          done.map((r) => r.tokenTimesMs),
          ps,
        ).at
      : [];
  const itl = itlValues.map((v, i): Point => [v, (Math.min(gaps - 1, Math.floor(gaps * (ps[i]! / 100))) + 1) / gaps]);
  return [
    cdfBlock("cdf-ttft", "TTFT CDF", "ttft", ttft, m, `time to first token of ${n.toLocaleString("en-US")} requests`, COLORS.blue),
    cdfBlock("cdf-tpot", "TPOT CDF", "tpot", tpot, m, `time per output token after the first, ${n.toLocaleString("en-US")} requests`, COLORS.orange),
    cdfBlock("cdf-itl", "ITL CDF", "itl", itl, m, `${gaps.toLocaleString("en-US")} gaps between consecutive tokens, all requests pooled`, COLORS.purple),
    cdfBlock("cdf-e2e", "E2E latency CDF", "e2el", e2e, m, `end-to-end latency of ${n.toLocaleString("en-US")} requests`, COLORS.green),
  ];
}

/** Per-iteration series over simulated time (seconds at the iteration's end). */
function iterationCharts(iterations: readonly IterationStats[]): ChartBlock[] {
  const n = iterations.length;
  if (n === 0) return [];
  const t = (i: number): number => iterations[i]!.simTimeMs / 1000;
  const series = (y: (s: IterationStats) => number): Point[] => minMaxDecimate(n, t, (i) => y(iterations[i]!), ITERATION_BUCKETS);
  const reduced = n > 2 * ITERATION_BUCKETS;
  const note = (what: string): string =>
    `${what}; ${n.toLocaleString("en-US")} iterations${reduced ? `, each series drawn as the minimum and maximum of ${ITERATION_BUCKETS} runs of consecutive iterations` : ""}`;
  const chart = (id: string, title: string, what: string, yName: string, s: { name: string; color: string; points: Point[] }[], yMax?: number): ChartBlock => ({
    kind: "chart",
    id,
    title,
    note: note(what),
    height: 300,
    option: lineChart({ xName: "simulated time (s)", yName, series: s, yMin: 0, zoom: true, ...(yMax !== undefined ? { yMax } : {}) }),
  });
  const kvPct = (s: IterationStats): number => (s.kvCacheStats.maxNumBlocks > 0 ? (100 * s.kvCacheStats.usedNumBlocks) / s.kvCacheStats.maxNumBlocks : 0);
  return [
    chart("iter-batch", "Batch size per iteration", "requests scheduled in each iteration", "requests", [
      { name: "generation requests", color: COLORS.blue, points: series((s) => s.inflightBatchingStats.numGenRequests) },
      { name: "context requests", color: COLORS.orange, points: series((s) => s.inflightBatchingStats.numContextRequests) },
    ]),
    chart("iter-tokens", "Tokens per iteration", "tokens processed in each iteration (a generation request processes one)", "tokens", [
      { name: "context tokens", color: COLORS.orange, points: series((s) => s.inflightBatchingStats.numCtxTokens) },
      { name: "generation tokens", color: COLORS.blue, points: series((s) => s.inflightBatchingStats.numGenRequests) },
    ]),
    chart(
      "iter-kv",
      "KV cache usage",
      "blocks in use after each iteration, % of the pool",
      "% of KV blocks",
      [{ name: "KV cache used", color: COLORS.green, points: series(kvPct) }],
      100,
    ),
    chart("iter-queue", "Queue length", "requests waiting for admission and requests active, after each iteration", "requests", [
      { name: "queued", color: COLORS.red, points: series((s) => s.numQueuedRequests) },
      { name: "active", color: COLORS.teal, points: series((s) => s.numActiveRequests) },
    ]),
  ];
}

/** The report page of one run. */
export function runPageSpec(input: RunHtmlInput): PageSpec {
  const { metrics: m, header: h } = input;
  const l = m.latency;
  const at = (p: number): number => l.percentiles.indexOf(p);
  const pct = (values: number[], p: number, fallback: number): string => f(at(p) >= 0 ? values[at(p)]! : fallback, 2);
  const summary = [
    { label: "Requests", value: `${m.numRequests.toLocaleString("en-US")}${m.numFailed > 0 ? ` (+${m.numFailed} failed)` : ""}` },
    { label: "Output throughput", value: `${f(m.systemOutputThroughputTokS)} tok/s` },
    { label: "Per GPU", value: `${f(m.outputThroughputPerGpuTokS)} tok/s/GPU` },
    { label: "Per user", value: `${f(m.tokenOutputSpeedTokS)} tok/s/user` },
    { label: "TTFT avg / p99", value: `${f(m.ttftMs.average, 2)} / ${f(m.ttftMs.p99, 2)} ms` },
    { label: "TPOT avg / p99", value: `${f(m.tpotMs.average, 2)} / ${f(m.tpotMs.p99, 2)} ms` },
    { label: "ITL p50 / p99", value: `${pct(l.itl, 50, m.itlMs.p50)} / ${pct(l.itl, 99, m.itlMs.p99)} ms` },
    { label: "E2E avg / p99", value: `${f(m.requestLatencyMs.average, 1)} / ${f(m.requestLatencyMs.p99, 1)} ms` },
    ...(m.goodput
      ? [
          {
            label: "Goodput",
            value: `${f(m.goodput.requestGoodputReqS, 2)} req/s (${f(100 * m.goodput.fraction, 1)}% good)`,
          },
        ]
      : []),
    { label: "Simulated", value: `${f(h.simulatedMs / 1000, 2)} s, ${h.iterations.toLocaleString("en-US")} iterations` },
  ];
  const latencyRows = (["ttft", "tpot", "itl", "e2el"] as const).map((k) => {
    const stats = k === "ttft" ? m.ttftMs : k === "tpot" ? m.tpotMs : k === "itl" ? m.itlMs : m.requestLatencyMs;
    const row: Record<string, number | string> = { metric: k.toUpperCase() };
    l.percentiles.forEach((p, i) => {
      row[`p${p}`] = l[k][i]!;
    });
    row["average"] = stats.average;
    row["maximum"] = stats.maximum;
    return row;
  });
  const tables: Block[] = [
    {
      kind: "table",
      id: "latency-table",
      title: "Latency percentiles (ms)",
      note: "nearest rank, as trtllm-bench; ITL pools every inter-token gap",
      columns: [
        { key: "metric", label: "metric" },
        ...l.percentiles.map((p) => ({ key: `p${p}`, label: `p${p}`, digits: 3 })),
        { key: "average", label: "average", digits: 3 },
        { key: "maximum", label: "maximum", digits: 3 },
      ],
      rows: latencyRows,
    },
  ];
  const g = m.goodput;
  if (g) {
    tables.push({
      kind: "table",
      id: "goodput-table",
      title: "Goodput objectives",
      note: `${g.goodRequests} of ${g.totalRequests} requests meet every objective: ${f(g.requestGoodputReqS, 3)} req/s, ${f(g.requestGoodputPerGpuReqS, 3)} req/s/GPU`,
      columns: [
        { key: "objective", label: "objective" },
        { key: "met", label: "requests meeting it" },
        { key: "attainment", label: "attainment %", digits: 2 },
        { key: "value", label: "run statistic (ms)", digits: 3 },
        { key: "statisticMet", label: "statistic met" },
      ],
      rows: g.objectives.map((o) => ({
        objective: describeSlo(o.slo),
        met: o.met,
        attainment: 100 * o.attainment,
        value: o.value,
        statisticMet: o.statisticMet,
      })),
    });
  }
  const sections: PageSpec["sections"] = [
    { title: "Latency distributions", blocks: latencyCharts(input) },
    { title: "Over simulated time", blocks: iterationCharts(input.iterations) },
    { title: "Tables", blocks: tables },
  ];
  if (input.reportText)
    sections.push({ title: "Text report", blocks: [{ kind: "text", title: "trtllm-bench report (text)", text: input.reportText, collapsed: true }] });
  if (sections[1]!.blocks.length === 0) sections.splice(1, 1);
  return {
    title: input.title ?? `servesim run: ${h.model} on ${h.system}`,
    subtitle: `TP ${h.tp} · PP ${h.pp}${h.ep !== null ? ` · EP ${h.ep}` : ""} · max batch size ${h.maxBatchSize} · max tokens ${h.maxNumTokens} · ${h.schedulingPolicy.toUpperCase()} · ${h.predictor} · ${h.datasetPath ?? "synthetic workload"}`,
    summary,
    sections,
  };
}

/** The run's self-contained HTML report. */
export function renderRunHtml(input: RunHtmlInput): string {
  return renderPage(runPageSpec(input));
}
