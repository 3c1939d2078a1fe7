import type { SpeculativeOptions } from "@servesim/engine";
import { methodForRow } from "./benchmarkMethod.js";
import { measuredDate } from "./inferencexLaunch.js";
import type { RowSetup } from "./modernRows.js";
import type { SiliconRow } from "./silicon.js";

/**
 * InferenceX configurations that ran MTP. silicon_sample.csv has no speculative-decoding column, but
 * InferenceX's configuration history names the runs:
 * - by image: from 2026-02-06 (InferenceX commits 0aae52d4c and 5d517074c) to the 1.3.0rc14 update in May,
 *   `.github/configs/nvidia-master.yaml` ran `dsr1-fp4-b200-trt` and `dsr1-fp8-b200-trt` on
 *   tensorrt-llm/release:1.2.0rc6.post2 and their `-mtp` twins (`spec-decoding: mtp`) on 1.2.0rc6.post3;
 * - by sweep: commit bf3456727 (merged 2026-01-14T22:26:21Z, "Add MTP Benchmark Support for DeepSeek-R1
 *   TRT") added `dsr1-fp4-b200-trt-mtp`, `dsr1-fp8-b200-trt-mtp` and `dsr1-fp8-h200-trt-mtp` on the same
 *   1.1.0rc2.post2 image as the plain configs, and its perf-changelog entry swept only those three: the
 *   rows measured that day are theirs (their search space, e.g. 1k/8k at concurrency 128 without attention
 *   DP on H200, exists only in the `-mtp` config).
 * The twins' launch scripts (benchmarks/dsr1_fp{4,8}_b200_trt_mtp_slurm.sh, dsr1_fp8_h200_trt_mtp_slurm.sh)
 * set `speculative_config: {decoding_type: MTP, num_nextn_predict_layers: 3}`, 1 with attention DP.
 */
const MTP_RUNS: ReadonlyArray<{ modelPath: string; system: string; image?: string; measured?: string; drafts: number; draftsWithAttentionDp: number }> = [
  { modelPath: "deepseek-ai/DeepSeek-R1", system: "b200_sxm", image: "1.2.0rc6.post3", drafts: 3, draftsWithAttentionDp: 1 },
  { modelPath: "deepseek-ai/DeepSeek-R1", system: "b200_sxm", measured: "2026-01-14", drafts: 3, draftsWithAttentionDp: 1 },
  { modelPath: "deepseek-ai/DeepSeek-R1", system: "h200_sxm", measured: "2026-01-14", drafts: 3, draftsWithAttentionDp: 1 },
];

/**
 * Per-position acceptance of DeepSeek-R1's MTP drafts in those runs (P(draft i accepted | drafts before it
 * accepted), the same at every position): not recorded in the rows, fitted on them (docs/timing.md#mtp-rows).
 */
export const ROW_MTP_ACCEPTANCE = 0.8;

/** The MTP a row ran with (its draft count per step), or 0 when its provenance names none. */
export function rowMtpDrafts(r: SiliconRow, s: Pick<RowSetup, "attentionDp">): number {
  if (!methodForRow(r).name.startsWith("inferencex")) return 0;
  const measured = measuredDate(r.source);
  const run = MTP_RUNS.find(
    (m) =>
      m.modelPath === r.modelPath &&
      m.system === r.system &&
      (m.image === undefined || m.image === r.backendVersion) &&
      (m.measured === undefined || m.measured === measured),
  );
  if (!run) return 0;
  return s.attentionDp ? run.draftsWithAttentionDp : run.drafts;
}

/** The engine's speculative decoding for a row with `drafts` MTP drafts per step at the given acceptance. */
export function rowMtpOptions(drafts: number, acceptance: number): SpeculativeOptions {
  return { kind: "mtp", maxDraftLen: drafts, acceptanceRates: Array.from({ length: drafts }, () => acceptance), seed: 0 };
}
