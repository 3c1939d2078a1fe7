import { Command } from "commander";
import { runAction } from "../cliError.js";
import { type CliIo, processIo } from "../io.js";
import type { ThroughputResult } from "../throughputModes.js";
import { usageExitCodes } from "./exitCodes.js";
import { addRunOptions, runThroughput, type ThroughputCommandFlags } from "./throughput.js";

/**
 * `servesim latency`: trtllm-bench latency (tensorrt_llm/bench/benchmark/low_latency.py) on a simulated
 * GPU. max_num_tokens comes from trtllm-bench's heuristic, then requests run one at a time: max_batch_size
 * 1, no chunked context, GUARANTEED_NO_EVICT, at most --concurrency (default 1) in flight. The report is
 * trtllm-bench's, with its streaming metrics; SIMULATION DETAILS name the benchmark.
 */
export function runLatency(flags: ThroughputCommandFlags, io: CliIo, signal?: AbortSignal): Promise<ThroughputResult> {
  return runThroughput({ ...flags, benchmark: "latency" }, io, signal);
}

export function latencyCommand(io: CliIo = processIo()): Command {
  const cmd = addRunOptions(
    new Command("latency").description("simulate trtllm-bench latency: one request at a time (max_batch_size 1), and its report"),
    "latency",
  );
  cmd.action(async (flags: ThroughputCommandFlags) => runAction(io, async () => void (await runLatency(flags, io))));
  return usageExitCodes(cmd);
}
