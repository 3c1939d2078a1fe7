import type { SiliconRow } from "./silicon.js";

/**
 * What InferenceX's launch scripts and benchmark client did on the day a row was measured. Its
 * configuration history (github.com/SemiAnalysisAI/InferenceX) changed twice in ways the rows show:
 *
 * - the client: `run_benchmark_serving` (benchmarks/benchmark_lib.sh) passed `--num-warmups $((2 * CONC))`
 *   from commit d053ae24e (2026-01-21, "upstream kimbochen/bench_serving, adding warmup"); before, the
 *   client (kimbochen/bench_serving's benchmark_serving.py, `--num-warmups` default 0) sent one test prompt
 *   and then opened its whole closed loop at once, so the first wave of `CONC` prompts is measured;
 * - DeepSeek's H200 server (`dsr1_fp8_h200_trt_slurm.sh`): `--max_num_tokens $(( (CONC + ISL + 64 + 63) / 64 * 64 ))`
 *   until commit 64af5a771 (2026-01-21) added the floor of 8,192; its MTP twin
 *   (`dsr1_fp8_h200_trt_mtp_slurm.sh`, commit bf3456727) sizes it `((MTP + 1) × max_batch_size + ISL + 64)`
 *   rounded up to 64, with `max_batch_size` = CONC / TP under attention DP, else CONC, and no floor;
 * - gpt-oss's H200 server (`gptoss_fp4_h200_trt_slurm.sh`): `--max_num_tokens 20000`.
 */
export const INFERENCEX_WARMUP_SINCE = "2026-01-21";

/** `measured=YYYY-MM-DD...` of a row's source, or undefined when the source does not say. */
export function measuredDate(source: string): string | undefined {
  return /measured=(\d{4}-\d\d-\d\d)/.exec(source)?.[1];
}

/** Whether InferenceX's client warmed the server up (2 × concurrency requests) before the measured run. */
export function inferencexWarmedUp(row: Pick<SiliconRow, "source">): boolean {
  const d = measuredDate(row.source);
  return d === undefined || d >= INFERENCEX_WARMUP_SINCE;
}

const ceil64 = (n: number): number => Math.ceil(n / 64) * 64;

/**
 * `max_num_tokens` (per rank) of InferenceX's TensorRT-LLM server for a row whose launch script is known,
 * else undefined. `ranks`: attention-DP ranks (1 without); `drafts`: MTP drafts per step (0 without).
 */
export function inferencexMaxNumTokens(
  row: Pick<SiliconRow, "modelPath" | "system" | "isl" | "source">,
  concurrency: number,
  ranks: number,
  drafts: number,
): number | undefined {
  if (row.system !== "h200_sxm") return undefined;
  const m = row.modelPath.toLowerCase();
  if (m.includes("gpt-oss")) return 20_000;
  if (!m.includes("deepseek")) return undefined;
  if (drafts > 0) return ceil64((drafts + 1) * (ranks > 1 ? Math.floor(concurrency / ranks) : concurrency) + row.isl + 64);
  const tokens = ceil64(concurrency + row.isl + 64);
  const d = measuredDate(row.source);
  return d !== undefined && d < INFERENCEX_WARMUP_SINCE ? tokens : Math.max(8192, tokens);
}
