import { describeFrontEnd, describeTiming, type SimulationResult } from "@servesim/engine";
import type { Precision } from "@servesim/perf";
import { DEFAULT_EMULATED_VERSION, type ReportInput } from "@servesim/report";
import type { ResolvedJob } from "./resolveJob.js";

const EMULATED = DEFAULT_EMULATED_VERSION.replace(/ \(sim\)$/, "");

/** trtllm-bench's Dtype line: the activation dtype (quantized checkpoints still compute in bfloat16). */
const dtypeName = (w: Precision | undefined): string => (w === "fp16" ? "float16" : "bfloat16");
const quantName = (p: Precision | undefined): string | null => (p === "fp8" ? "FP8" : p === "nvfp4" ? "NVFP4" : null);

/** The report header values of a job and its run (trtllm-bench's engine/world sections, servesim's sim section). */
export function reportInput(job: ResolvedJob, result: SimulationResult, predictorDescription: string, wallMs: number): ReportInput {
  const p = job.predictor;
  const version = p.config.backendVersion.trim();
  return {
    engine: {
      model: p.modelName ?? "None",
      modelPath: job.modelPath,
      version: `${version || EMULATED} (sim)`,
      dtype: dtypeName(p.weightDtype),
      kvCacheDtype: quantName(p.kvDtype),
      quantization: quantName(p.weightDtype),
    },
    world: {
      tp: p.tp,
      pp: p.pp,
      ep: p.ep > 1 ? p.ep : null,
      maxBatchSize: job.engine.maxBatchSize,
      maxNumTokens: job.engine.maxNumTokens,
      schedulingPolicy: job.engine.capacityPolicy,
      kvCacheFraction: job.settings.kvCacheFreeGpuMemFraction,
    },
    dataset: job.dataset,
    report: job.report,
    sim: {
      predictorDescription,
      system: p.gpu?.name ?? (p.config.deviceName.trim() || "None"),
      backend: "trtllm",
      backendVersion: version || EMULATED,
      databasePath: p.config.databasePath.trim() || null,
      numBlocks: result.numBlocks,
      tokensPerBlock: result.tokensPerBlock,
      numIterations: result.numIterations,
      numPrefillIterations: result.numPrefillIterations,
      numDecodeIterations: result.numDecodeIterations,
      numMixedIterations: result.numMixedIterations,
      numPaused: result.numPaused,
      simulatedMs: result.simulatedMs,
      wallMs,
      ...(job.approxPromptTokens ? { approxPromptTokens: true } : {}),
      overlapScheduler: job.engine.overlap === true,
      timingModel: describeTiming(job.settings.timing) + (job.engine.frontEnd ? `; ${describeFrontEnd(job.engine.frontEnd)}` : ""),
      benchmark: job.settings.benchmark,
      ...(job.settings.attentionDpRanks > 1 ? { attentionDpRanks: job.settings.attentionDpRanks } : {}),
      ...(job.engine.batchWait
        ? {
            batchWait: {
              timeoutIters: job.engine.batchWait.timeoutIters,
              maxTokensRatio: job.engine.batchWait.maxTokensRatio,
              maxNumTokens: job.engine.maxNumTokens,
            },
          }
        : {}),
      ...(job.engine.attentionDpBalance ? { attentionDpBalance: { ...job.engine.attentionDpBalance } } : {}),
      ...(job.settings.speculative
        ? {
            speculative: {
              kind: job.settings.speculative.options.kind,
              maxDraftLen: job.settings.speculative.options.maxDraftLen,
              meanAccepted: job.settings.speculative.meanAccepted,
            },
          }
        : {}),
      arrivals: job.arrivals,
    },
  };
}
