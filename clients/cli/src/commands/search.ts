import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describeSlo, parsePercentiles, parseSlos } from "@servesim/core";
import {
  DEFAULT_BATCH_SIZES,
  DEFAULT_MAX_NUM_TOKENS,
  DEFAULT_TP,
  deployArtifacts,
  dimension,
  disaggDeployArtifacts,
  disaggServeConfig,
  displayColumns,
  type PointResult,
  pointSpec,
  rankCandidates,
  runSweepLocal,
  type SettingValue,
  type SweepRow,
  searchPlan,
  TOPOLOGIES,
  textTable,
  topology,
} from "@servesim/sweep";
import { sloToWire } from "@servesim/wire";
import { Distribution, JobSpec, type Workload } from "@servesim/wire/scheduler";
import { Command } from "commander";
import { CliError, runAction } from "../cliError.js";
import { inlineDataset } from "../datasetFile.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg } from "./options.js";
import { SweepProgress, writeSweepOutputs } from "./sweep.js";

export interface SearchFlags {
  model: string;
  gpu: string;
  gpus: number;
  isl?: number;
  osl?: number;
  numRequests?: number;
  dataset?: string;
  slo?: string[];
  goodput?: string[];
  percentiles?: string;
  tp?: string;
  topologies?: string;
  maxBatchSize?: string;
  maxNumTokens?: string;
  concurrency?: string;
  quantization?: string;
  kvCacheDtype?: string;
  predictor?: string;
  databasePath?: string;
  backendVersion?: string;
  schedulerPolicy?: string;
  disableChunkedContext?: boolean;
  kvCacheFreeGpuMemFraction?: number;
  top: number;
  outputDir: string;
  html?: string;
  plot?: string;
  workers?: number;
  image?: string;
  name?: string;
  quiet?: boolean;
}

/** "1,2,4" → [1, 2, 4] (integers >= 1). */
function intList(text: string | undefined, flag: string, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const out = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v < 1)) throw new CliError(`${flag} ${text}: expected a comma list of integers >= 1`);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** A fixed setting given on the command line, checked like a sweep file's. */
function setting(fixed: Record<string, SettingValue>, name: string, value: unknown, flag: string): void {
  if (value === undefined) return;
  const d = dimension(name)!;
  const v = d.parse(value);
  if (typeof v === "object") throw new CliError(`${flag}: ${v.invalid}`);
  fixed[d.name] = v;
}

export async function runSearch(f: SearchFlags, io: CliIo): Promise<{ rows: SweepRow[]; winner?: SweepRow }> {
  const slos = parseSlos([...(f.slo ?? []), ...(f.goodput ?? [])], "--slo");
  const percentiles = f.percentiles !== undefined ? parsePercentiles(f.percentiles, "--percentiles") : [50, 90, 99];
  const tp = intList(f.tp, "--tp", DEFAULT_TP);
  const topologies = (f.topologies ?? "aggregated").split(",").map((t) => t.trim().toLowerCase());
  for (const t of topologies) if (!topology(t)) throw new CliError(`--topologies: unknown topology "${t}" (${TOPOLOGIES.map((x) => x.name).join(", ")})`);
  const batch = intList(f.maxBatchSize, "--max-batch-size", DEFAULT_BATCH_SIZES);
  const tokens = intList(f.maxNumTokens, "--max-num-tokens", DEFAULT_MAX_NUM_TOKENS);
  const concurrency = f.concurrency !== undefined ? intList(f.concurrency, "--concurrency", []) : undefined;
  const maxLoad = Math.max(...(concurrency ?? batch));
  let workload: Workload;
  if (f.dataset) {
    if (f.isl !== undefined || f.osl !== undefined) throw new CliError("--dataset and --isl/--osl are exclusive");
    workload = { dataset: inlineDataset(f.dataset) };
  } else {
    if (f.isl === undefined || f.osl === undefined) throw new CliError("give the workload: --isl and --osl (synthetic, fixed lengths), or --dataset FILE");
    workload = {
      synthetic: JobSpec.fromPartial({
        workload: {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
            numRequests: f.numRequests ?? Math.max(1000, 5 * maxLoad),
            inputMean: f.isl,
            outputMean: f.osl,
          },
        },
      }).workload!.synthetic!,
    };
  }
  const fixed: Record<string, SettingValue> = {};
  setting(fixed, "model", f.model, "--model");
  setting(fixed, "gpu", f.gpu, "--gpu");
  setting(fixed, "predictor", f.predictor, "--predictor");
  setting(fixed, "database_path", f.databasePath, "--database-path");
  setting(fixed, "backend_version", f.backendVersion, "--backend-version");
  setting(fixed, "quantization", f.quantization?.toLowerCase(), "--quantization");
  setting(fixed, "kv_cache_dtype", f.kvCacheDtype?.toLowerCase(), "--kv-cache-dtype");
  setting(fixed, "scheduler_policy", f.schedulerPolicy, "--scheduler-policy");
  setting(fixed, "enable_chunked_context", !f.disableChunkedContext, "--disable-chunked-context");
  setting(fixed, "kv_cache_free_gpu_mem_fraction", f.kvCacheFreeGpuMemFraction, "--kv-cache-free-gpu-mem-fraction");
  if (f.numRequests !== undefined && f.dataset) setting(fixed, "num_requests", f.numRequests, "--num-requests");
  const name = f.name ?? `${f.model} on ${f.gpus} × ${f.gpu}`;
  const base = JobSpec.fromPartial({
    name,
    workload,
    ...(slos.length > 0 || f.percentiles !== undefined ? { report: { percentiles, goodput: slos.map(sloToWire) } } : {}),
  });
  const plan = searchPlan({
    name,
    base,
    fixed,
    choices: { gpuBudget: f.gpus, tp, maxBatchSize: batch, maxNumTokens: tokens, topologies, ...(concurrency ? { concurrency } : {}) },
    slos,
    percentiles,
  });
  if (plan.points.length === 0) throw new CliError(`no candidate fits ${f.gpus} GPUs with --tp ${tp.join(",")}`);
  mkdirSync(f.outputDir, { recursive: true });
  const log = (s: string): void => {
    if (!f.quiet) io.stderr.write(`${s}\n`);
  };
  const workers = f.workers ?? availableParallelism();
  log(`search: ${plan.points.length} candidates (${plan.varied.join(" × ") || "one"}), ${workers} worker thread${workers === 1 ? "" : "s"}`);
  const progress = new SweepProgress(io, f.quiet ?? false, plan.points.length);
  let results: PointResult[];
  try {
    results = await runSweepLocal(plan, { workers, onResult: (r, done) => progress.update(done, r.row) });
  } finally {
    progress.stop();
  }
  const rows = results.map((r) => r.row);
  const { ranked, winner } = rankCandidates(rows, slos.length > 0);
  await writeSweepOutputs(plan, rows, f.outputDir, f, io, "search", winner?.id);

  const out = io.stdout;
  out.write(
    `servesim search: ${name}; ${rows.length} candidates, ${ranked.length} ran${slos.length > 0 ? `; objectives: ${slos.map(describeSlo).join(", ")}` : ""}\n`,
  );
  const top = ranked.slice(0, f.top);
  if (top.length > 0) {
    out.write(`\ntop ${top.length} by ${slos.length > 0 ? "goodput per GPU (meeting every run-level objective first)" : "output tokens/s per GPU"}:\n`);
    out.write(`${textTable(top, displayColumns(plan.varied, percentiles, slos.length > 0))}\n`);
  }
  if (!winner) {
    out.write(
      `\nno candidate meets every objective${ranked.length === 0 ? " (none ran)" : ""}; nothing to deploy. Relax the objectives or widen the search.\n`,
    );
    return { rows };
  }
  const point = plan.points.find((p) => p.id === winner.id)!;
  const spec = pointSpec(plan.base, point);
  const version = String(fixed["backend_version"] ?? "1.2.0rc5");
  const image = f.image ?? `nvcr.io/nvidia/tensorrt-llm/release:${version}`;
  const objectName =
    (f.name ?? "trtllm-serve")
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "trtllm-serve";
  if (point.settings["topology"] === "disaggregated") {
    const file = join(f.outputDir, "disagg_config.yaml");
    writeFileSync(file, disaggServeConfig(spec, f.model));
    const k8s = disaggDeployArtifacts(spec, winner, { model: f.model, image, name: objectName });
    writeFileSync(join(f.outputDir, "k8s.yaml"), k8s.kubernetes);
    out.write(
      `\nchosen: ${winner.label}: a disaggregated cluster of ${topology("disaggregated")!.gpusPerInstance(spec)} GPUs, ` +
        `${Math.round(Number(winner.metrics["output_tok_s_per_gpu"]) * topology("disaggregated")!.gpusPerInstance(spec))} output tok/s in total\n` +
        `wrote ${file} (trtllm-serve disaggregated -c ${file}; fill in the servers' urls), ${join(f.outputDir, "k8s.yaml")} ` +
        `(context and generation worker StatefulSets and the disaggregated server, urls filled in), results.csv/.jsonl\n`,
    );
    return { rows, winner };
  }
  const gpusPerInstance = topology(String(point.settings["topology"] ?? "aggregated"))!.gpusPerInstance(spec);
  const replicas = Math.floor(f.gpus / gpusPerInstance);
  const artifacts = deployArtifacts(spec, winner, { model: f.model, replicas, gpusPerInstance, image, name: objectName });
  writeFileSync(join(f.outputDir, "extra_llm_api_options.yaml"), artifacts.extraLlmApiOptions);
  writeFileSync(join(f.outputDir, "serve.sh"), `#!/bin/sh\n# One of ${replicas} instance(s) chosen by servesim search.\nexec ${artifacts.serveCommand}\n`, {
    mode: 0o755,
  });
  writeFileSync(join(f.outputDir, "k8s.yaml"), artifacts.kubernetes);
  const total = Number(winner.metrics["output_tok_s_per_gpu"]) * gpusPerInstance * replicas;
  out.write(
    `\nchosen: ${winner.label}: ${replicas} instance${replicas === 1 ? "" : "s"} × ${gpusPerInstance} GPU${gpusPerInstance === 1 ? "" : "s"} ` +
      `(${replicas * gpusPerInstance} of ${f.gpus}), ${Math.round(total)} output tok/s in total, up to ${replicas * Number(winner.settings["concurrency"] ?? 0)} concurrent requests\n` +
      `wrote ${join(f.outputDir, "extra_llm_api_options.yaml")}, ${join(f.outputDir, "serve.sh")}, ${join(f.outputDir, "k8s.yaml")}, results.csv/.jsonl\n` +
      `  ${artifacts.serveCommand}\n`,
  );
  return { rows, winner };
}

export function searchCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("search")
    .description("search the configurations of a model on a GPU budget for the best goodput under SLOs; write the winner's TensorRT-LLM config")
    .requiredOption("-m, --model <name>", "model: catalog name or Hugging Face id")
    .requiredOption("--gpu <name>", "GPU / system (e.g. h100_sxm)")
    .requiredOption("--gpus <n>", "GPU budget: instances are replicated up to it", intArg(1, 1 << 16))
    .option("--isl <n>", "input length of the synthetic workload", intArg(1))
    .option("--osl <n>", "output length of the synthetic workload", intArg(1))
    .option("--num-requests <n>", "requests per candidate (default max(1000, 5 × the largest concurrency))", intArg(1))
    .option("--dataset <file>", "a trtllm-bench dataset instead of --isl/--osl")
    .option("--slo <slo...>", "objectives, vLLM KEY:VALUE in ms with an optional statistic: ttft@p90:500 tpot@p90:20 e2el:8000")
    .option("--goodput <slo...>", "same as --slo")
    .option("--percentiles <list>", "latency percentiles to report (default 50,90,99)")
    .option("--tp <list>", "tensor parallel sizes to try (default 1,2,4,8 within the budget)")
    .option("--topologies <list>", "topologies to search: aggregated (default), disaggregated, or aggregated,disaggregated")
    .option("--max-batch-size <list>", "batch sizes to try; each candidate serves as many concurrent requests (default 1..512, powers of 2)")
    .option("--max-num-tokens <list>", "token budgets to try (default 8192)")
    .option("--concurrency <list>", "concurrent requests per instance, tried with every batch size (default: equal to it)")
    .option("--quantization <q>", "weight quantization: none, fp8, nvfp4")
    .option("--kv-cache-dtype <d>", "KV-cache dtype: auto, bf16, fp16, fp8")
    .option("--predictor <kind>", "roofline (default with a GPU) or aic")
    .option("--database-path <dir>", "AIConfigurator systems directory (aic)")
    .option("--backend-version <v>", "TensorRT-LLM version of the tables and of the container image")
    .option("--scheduler-policy <p>", "capacity scheduler policy of every candidate")
    .option("--disable-chunked-context", "candidates without chunked prefill (default: chunked)")
    .option("--kv-cache-free-gpu-mem-fraction <f>", "KV-cache memory fraction of every candidate", Number)
    .option("--top <n>", "candidates listed", intArg(1), 5)
    .option("-o, --output-dir <dir>", "where results and the winner's config go", "search-results")
    .option("--html <file>", "write the self-contained HTML report")
    .option("--plot <file>", "write the Pareto chart as PNG")
    .option("--workers <n>", "worker threads (default: one per core)", intArg(1, 256))
    .option("--image <ref>", "container image of the Kubernetes manifest (default: TensorRT-LLM's release image of --backend-version)")
    .option("--name <name>", "name of the search and of the Kubernetes objects")
    .option("-q, --quiet", "no progress bar");
  cmd.action(async (flags: SearchFlags) => runAction(io, async () => void (await runSearch(flags, io))));
  return usageExitCodes(cmd);
}
