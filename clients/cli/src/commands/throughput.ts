import { CAPACITY_POLICY_NAMES, CHUNKING_POLICY_NAMES, DEFAULT_CAPACITY_POLICY } from "@servesim/engine";
import { type IterationLogFormat, iterationLogLine, requestJsonLine } from "@servesim/report";
import type { ResolvedWorkload } from "@servesim/runner";
import { Command, Option } from "commander";
import { CliError, EXIT_INTERRUPTED, runAction } from "../cliError.js";
import { readCachedDataset, writeCachedDataset } from "../datasetCache.js";
import { type CliIo, processIo } from "../io.js";
import { buildJobSpec, type ThroughputFlags } from "../jobSpec.js";
import { writeLines, writeText } from "../outputFiles.js";
import { PREDICTOR_NAMES } from "../predictorNames.js";
import { ProgressDisplay } from "../progress.js";
import { type RunContext, runEmbedded, runOnScheduler, runWithRemotePredictor, type ThroughputResult } from "../throughputModes.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg, numberArg } from "./options.js";

export interface ThroughputCommandFlags extends ThroughputFlags {
  reportJson?: string;
  requestJson?: string;
  iterationLog?: string;
  iterationLogFormat: string;
  html?: string;
  /** --no-dataset-cache sets it false. */
  datasetCache?: boolean;
  predictorAddress?: string;
  schedulerAddress?: string;
  quiet?: boolean;
  sim?: boolean;
  streaming?: boolean;
  eosId?: number;
  outputJson?: string;
  engineDir?: string;
  maxInputLen?: number;
  tokenizer?: string;
  workspace?: string;
  logLevel?: string;
  medusaChoices?: string;
}

/** A number > 0, or inf / infinity. */
function positiveOrInf(value: string): number {
  if (/^\+?inf(inity)?$/i.test(value.trim())) return Infinity;
  return numberArg((v) => v > 0, "a number > 0 or inf")(value);
}

const ITERATION_LOG_FORMATS: Record<string, IterationLogFormat> = { repr: "python", python: "python", json: "json" };

/** trtllm-bench options that have no counterpart in a simulation: accepted, each with a one-line note. */
const NOT_APPLICABLE: Array<{ key: keyof ThroughputCommandFlags; flag: string; note: string }> = [
  { key: "engineDir", flag: "--engine_dir", note: "servesim simulates the PyTorch backend (no TensorRT engine is built or read)" },
  { key: "maxInputLen", flag: "--max_input_len", note: "it sizes multimodal inputs, and servesim reads text datasets" },
  { key: "tokenizer", flag: "--tokenizer", note: "datasets carry token ids (tokenize text with servesim prepare-dataset sharegpt --tokenizer)" },
  { key: "workspace", flag: "-w/--workspace", note: "servesim writes no intermediate files" },
  { key: "logLevel", flag: "--log_level", note: "servesim logs nothing per run (-q silences the progress bar and warnings)" },
];

/** The options of throughput and latency (trtllm-bench names; underscore spellings are rewritten before parsing). */
export function addRunOptions(cmd: Command, bench: "throughput" | "latency"): Command {
  const int = (min: number, max?: number) => intArg(min, max);
  const hidden = (flags: string, description: string) => new Option(flags, description).hideHelp();
  const throughput = bench === "throughput";
  const only = (c: Command, add: (c: Command) => Command): Command => (throughput ? add(c) : c);
  cmd
    .requiredOption("--dataset <file>", "trtllm-bench dataset (JSONL: task_id, input_ids, output_tokens per line) or a trace (see --dataset-format)")
    .option("--no-dataset-cache", "parse the dataset even when an earlier run cached its parse (see SERVESIM_CACHE_DIR)")
    .option("--approx-prompt-tokens", "accept dataset lines with only a text prompt: ISL = ceil(characters / 4), flagged in the report")
    .option(
      "--dataset-format <format>",
      "auto (default: from the file's first line) | trtllm | trace (AIPerf/Mooncake JSONL) | azure | burstgpt | csv (with --csv-columns)",
    )
    .option("--trace-block-size <n>", "tokens per hash_ids block of a trace (AIPerf --isl-block-size; default 512)", int(1, 1 << 20))
    .option("--csv-columns <map>", "a CSV trace's columns: timestamp=COL,input=COL,output=COL[,session=COL][,unit=seconds|ms|datetime]")
    .option("-m, --model <name>", "model: catalog name or Hugging Face id (e.g. meta-llama/Llama-3.1-8B-Instruct); also accepted before the subcommand")
    .option(
      "--model-path <dir>",
      "checkpoint directory or config.json: the architecture is read from it (the report's Model Path); also accepted before the subcommand",
    )
    .option("--gpu <name>", "GPU: h100_sxm, h200_sxm, a100_sxm, b200_sxm, l40s or an AIConfigurator system YAML")
    .option("--tp <n>", "tensor parallelism (default 1)", int(1, 4096))
    .option("--pp <n>", "pipeline parallelism: micro-batches through pp stages (TensorRT-LLM's _executor_loop_pp)", int(1, 4096))
    .option("--ep <n>", "expert parallelism (MoE models)", int(1, 4096))
    .option("--max-num-tokens <n>", "max tokens per iteration (default: trtllm-bench heuristic)", int(1))
    .option("--max-seq-len <n>", "max sequence length (default: the dataset's longest ISL+OSL)", int(1))
    .option("--target-input-len <n>", "average input length the max_batch_size / max_num_tokens heuristic is tuned for (default: the dataset's)", int(1))
    .option("--target-output-len <n>", "average output length the heuristic is tuned for (default: the dataset's)", int(1));
  only(cmd, (c) =>
    c
      .option("--max-batch-size <n>", "max runtime batch size (default: trtllm-bench heuristic)", int(1))
      .option("--scheduler-policy <policy>", `${CAPACITY_POLICY_NAMES.join(" | ")} (default ${DEFAULT_CAPACITY_POLICY})`)
      .option("--enable-chunked-context", "enable chunked prefill (default off)")
      .option("--disable-chunked-context", "disable chunked prefill")
      .option("--chunking-policy <policy>", `${CHUNKING_POLICY_NAMES.join(" | ")} (with chunked context)`),
  );
  cmd
    .option("--tokens-per-block <n>", "KV-cache block size in tokens (default 32)", int(1))
    .option("--kv-cache-max-tokens <n>", "cap on the KV-cache capacity in tokens (kv_cache_config.max_tokens)", int(1))
    .option("--kv-num-blocks <n>", "KV-cache pool size in blocks (overrides every other KV sizing)", int(1))
    .option(
      "--kv-cache-free-gpu-mem-fraction <f>",
      "fraction of free GPU memory for the KV cache (default 0.90)",
      numberArg((v) => v > 0 && v <= 1, "a number in (0, 1]"),
    )
    .option("--enable-block-reuse", "prefix caching on (the default)")
    .option("--disable-block-reuse", "prefix caching off")
    .option("--enable-overlap-scheduler", "simulate TensorRT-LLM's overlap scheduler (the default for roofline and aic)")
    .option("--disable-overlap-scheduler", "simulate the non-overlap loop (the default for the constant and calibrated predictors)")
    .option("--enable-cuda-graphs", "CUDA graphs for decode-only batches, TensorRT-LLM's default sizes (the default)")
    .option("--disable-cuda-graphs", "no CUDA graphs: every iteration pays the eager kernel-launch cost (cuda_graph_config: null)")
    .option(
      "--timing-model <m>",
      "host-device (device time from the predictor, host time from the engine profile; default for roofline and aic) or whole-iteration (the predictor's times are wall times; default for constant and calibrated)",
    )
    .option(
      "--host-step-us <us>",
      "host time per iteration, µs (default: the engine profile's for the GPU family)",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--host-per-request-us <us>",
      "host time per scheduled request, µs",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--host-launch-us-per-layer <us>",
      "eager kernel-launch time per decoder layer, µs",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--serve-front-end",
      "send the requests through trtllm-serve's front end (one thread tokenizing prompts and streaming every response; the engine profile's costs), as a streaming client of trtllm-serve sees them",
    )
    .option(
      "--front-end-per-response-us <us>",
      "front-end time per streamed response, µs (implies --serve-front-end)",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--front-end-per-prompt-token-us <us>",
      "front-end time per prompt token (tokenization), µs (implies --serve-front-end)",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--front-end-per-request-us <us>",
      "front-end time per request, µs (implies --serve-front-end)",
      numberArg((v) => v >= 0 && v <= 1e6, "a number in [0, 1000000]"),
    )
    .option(
      "--concurrency <n>",
      throughput ? "at most N requests in flight (-1 or 0: unlimited, the default)" : "at most N requests in flight (default 1; each still runs alone)",
      int(-1),
    );
  only(cmd, (c) =>
    c
      .option(
        "--request-rate <r>",
        "Poisson arrivals at R requests/s (default: all at t=0); with --concurrency, at most that many in flight",
        numberArg((v) => v >= 0, "a number >= 0"),
      )
      .option("--max-concurrency <n>", "vLLM's name for --concurrency (with --request-rate: a ceiling over the schedule)", int(1))
      .option(
        "--burstiness <b>",
        "vLLM's --burstiness: gamma-distributed gaps of shape B (1: Poisson; < 1 burstier; inf: constant gaps), drawn as vLLM draws them",
        positiveOrInf,
      )
      .option("--ramp-up-strategy <s>", "vLLM's request-rate ramp-up instead of --request-rate: linear | exponential")
      .option(
        "--ramp-up-start-rps <r>",
        "ramp-up: the first request's rate (requests/s)",
        numberArg((v) => v > 0, "a number > 0"),
      )
      .option(
        "--ramp-up-end-rps <r>",
        "ramp-up: the last request's rate (requests/s)",
        numberArg((v) => v > 0, "a number > 0"),
      )
      .option("--trace", "replay the dataset's timestamps as a fixed schedule (AIPerf's --fixed-schedule)")
      .option(
        "--trace-speedup <x>",
        "with --trace: divide the trace's times by X (2: twice as fast)",
        numberArg((v) => v > 0, "a number > 0"),
      )
      .option("--session-mode <mode>", "multi-turn sessions: closed-loop (each turn its think time after the previous one ends; the default) | independent"),
  );
  return cmd
    .option("--num-requests <n>", "use only the first N dataset requests (0: all)", int(0))
    .option("--seed <n>", "seed of warm-up sampling and Poisson arrivals (default 0)", int(0))
    .option("--warmup <n>", "warm-up requests simulated first, stats discarded (default 2; 0 skips)", int(0))
    .option("--quantization <q>", "weight quantization: NONE (the checkpoint's), FP8 or NVFP4")
    .option("--kv-cache-dtype <dtype>", "KV-cache dtype: auto, bf16, fp16 or fp8")
    .option("--predictor <kind>", `${PREDICTOR_NAMES} (default: roofline with --gpu, else constant)`)
    .option(
      "--constant-prefill-time-ms <ms>",
      "constant predictor: time of a batch with context requests (default 10)",
      numberArg((v) => v > 0, "a number > 0"),
    )
    .option(
      "--constant-decode-time-ms <ms>",
      "constant predictor: time of a decode-only batch (default 5)",
      numberArg((v) => v > 0, "a number > 0"),
    )
    .option("--database-path <dir>", "AIConfigurator systems directory (aic predictor)")
    .option("--backend-version <v>", "AIConfigurator table version, e.g. 1.2.0rc5 (aic predictor)")
    .option(
      "--sim-config <file>",
      "predictor YAML (TensorRT-LLM PR #12700 format: {predictor: {name, ...}} or flat), with an optional cluster: topology; or a TensorRT-LLM disaggregated serving YAML (context_servers / generation_servers)",
    )
    .option("--instances <n>", "an aggregated cluster of n instances of this engine on one simulated clock", int(1, 1024))
    .option("--router <type>", "router of --instances: round_robin (default), least_loaded, least_kv_usage, kv_aware")
    .option("--sim", "simulation mode (accepted for PR #12700 compatibility; servesim always simulates)")
    .option("--extra-llm-api-options <file>", "LLM API YAML (kv_cache_config, scheduler_config, enable_chunked_prefill, ...); overrides flags")
    .option("--streaming", "accepted for compatibility (streaming metrics are always reported)")
    .option(
      "--goodput <slo...>",
      "goodput objectives, vLLM's KEY:VALUE in ms (ttft, tpot, itl, e2el), e.g. --goodput ttft:300 tpot:25; KEY@p90:VALUE also bounds the p90",
    )
    .option("--percentiles <list>", "latency percentiles to report, e.g. 50,90,99,99.9 (default 50,90,95,99)")
    .option("--report-json <file>", "write report.json")
    .option("--request-json <file>", "write per-request records (one JSON object per line)")
    .option("--iteration-log <file>", "write the per-iteration stats log")
    .option("--html <file>", "write a self-contained HTML report: latency CDFs, batch, tokens, KV cache and queue over simulated time")
    .option("--iteration-log-format <format>", "repr (Python dict lines, as trtllm-bench) or json", "repr")
    .option("--predictor-address <host:port>", "price batches with a predictor service (the simulation runs here)")
    .option("--scheduler-address <host:port>", "run the job on a scheduler service")
    .option("--name <name>", "job name (scheduler mode; default: throughput <dataset file>)")
    .option("-q, --quiet", "no progress bar or warnings")
    .addOption(hidden("--backend <backend>", "trtllm-bench backend (only pytorch)"))
    .addOption(hidden("--beam-width <n>", "beam width (only 1)").argParser(int(1)))
    .addOption(hidden("--eos-id <id>", "ignored: outputs always have output_tokens tokens").argParser(int(-1)))
    .addOption(hidden("--output-json <file>", "not produced (no decoded text in a simulation)"))
    .addOption(hidden("--engine-dir <dir>", "trtllm-bench TensorRT engine directory (no effect)"))
    .addOption(hidden("--max-input-len <n>", "trtllm-bench multimodal input size (no effect)"))
    .addOption(hidden("--tokenizer <name>", "trtllm-bench tokenizer (no effect)"))
    .addOption(hidden("-w, --workspace <dir>", "trtllm-bench workspace (no effect)"))
    .addOption(hidden("--log-level <level>", "trtllm-bench log level (no effect)"))
    .addOption(hidden("--medusa-choices <file>", "trtllm-bench latency Medusa tree (speculative decoding is not simulated)"));
}

function modeOf(f: ThroughputCommandFlags): "embedded" | "predictor" | "scheduler" {
  if (f.predictorAddress && f.schedulerAddress)
    throw new CliError("--predictor-address and --scheduler-address are exclusive (the scheduler has its own predictor)");
  return f.schedulerAddress ? "scheduler" : f.predictorAddress ? "predictor" : "embedded";
}

/** Ctrl-C aborts the run (a scheduler job is cancelled); a second Ctrl-C exits at once. */
function interruptible(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

/** Runs `servesim throughput` with parsed flags: builds the JobSpec, runs it in the chosen mode, writes the outputs. */
export async function runThroughput(flags: ThroughputCommandFlags, io: CliIo, signal?: AbortSignal): Promise<ThroughputResult> {
  const mode = modeOf(flags);
  const format = ITERATION_LOG_FORMATS[flags.iterationLogFormat.trim().toLowerCase()];
  if (format === undefined) throw new CliError(`--iteration-log-format must be repr or json (got ${JSON.stringify(flags.iterationLogFormat)})`);
  if (!flags.model && !flags.modelPath) throw new CliError("--model is required (e.g. -m meta-llama/Llama-3.1-8B-Instruct)");
  const warn = (w: string): void => {
    if (!flags.quiet) io.stderr.write(`warning: ${w}\n`);
  };
  if (flags.outputJson) warn("--output-json is not produced: a simulation has no decoded text");
  if (flags.medusaChoices !== undefined) throw new CliError("--medusa_choices: speculative decoding (Medusa) is not simulated");
  for (const n of NOT_APPLICABLE) if (flags[n.key] !== undefined) warn(`${n.flag} has no effect: ${n.note}`);
  const built = buildJobSpec(flags);
  // The local modes read a dataset parsed by an earlier run from the cache instead of parsing it again.
  const cached = mode !== "scheduler" && flags.datasetCache !== false ? readCachedDataset(built.spec, flags.dataset) : undefined;
  built.warnings.forEach(warn);

  const progress = new ProgressDisplay(io, flags.quiet ?? false);
  const interrupt = signal ? undefined : interruptible();
  const ctx: RunContext = {
    dataset: built.dataset,
    signal: signal ?? interrupt!.signal,
    progress,
    wantRequests: Boolean(flags.requestJson || flags.html),
    wantIterations: Boolean(flags.iterationLog || flags.html),
    ...(cached ? { workload: cached } : {}),
    ...(mode !== "scheduler" && !cached && flags.datasetCache !== false
      ? { onParsed: (w: ResolvedWorkload) => writeCachedDataset(built.spec, flags.dataset, w) }
      : {}),
  };
  let result: ThroughputResult;
  try {
    result =
      mode === "scheduler"
        ? await runOnScheduler(built.spec, flags.schedulerAddress!, ctx, (id) => {
            if (!flags.quiet) io.stderr.write(`submitted job ${id} to ${flags.schedulerAddress}\n`);
          })
        : mode === "predictor"
          ? await runWithRemotePredictor(built.spec, flags.predictorAddress!, ctx)
          : await runEmbedded(built.spec, ctx);
  } finally {
    progress.stop();
    interrupt?.dispose();
  }
  result.warnings.forEach(warn);

  io.stdout.write(result.reportText.endsWith("\n") ? result.reportText : `${result.reportText}\n`);
  if (flags.reportJson) await writeText(flags.reportJson, "--report-json", result.reportJsonText);
  if (flags.requestJson) await writeLines(flags.requestJson, "--request-json", result.records, (r) => requestJsonLine(r));
  if (flags.iterationLog) await writeLines(flags.iterationLog, "--iteration-log", result.iterations, (s) => iterationLogLine(s, format));
  if (flags.html) await (await import("../htmlReport.js")).writeRunHtml(flags.html, "--html", built.spec, result);
  return result;
}

/** `servesim throughput`: trtllm-bench throughput on a simulated GPU. */
export function throughputCommand(io: CliIo = processIo()): Command {
  const cmd = addRunOptions(
    new Command("throughput").description(
      "simulate trtllm-bench throughput on a dataset and print its report (embedded, or on a predictor / scheduler service)",
    ),
    "throughput",
  );
  cmd.action(async (flags: ThroughputCommandFlags) => runAction(io, async () => void (await runThroughput(flags, io))));
  return usageExitCodes(cmd);
}
