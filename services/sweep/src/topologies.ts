/**
 * How the GPUs of one sweep point or search candidate serve: the extension point of the cluster layer.
 * Today one topology is simulated: `aggregated`, one engine instance (TP × PP GPUs) doing prefill and
 * decode, replicated as many times as a GPU budget allows (each replica sees the same load, so per-GPU
 * figures are the instance's). Disaggregated prefill/decode pools with worker counts register here when
 * the cluster layer can simulate them: a name, the GPUs of one instance, and how a point's settings
 * become its spec.
 */
import type { JobSpec } from "@servesim/wire/scheduler";
import type { SettingValue } from "./dimensions.js";

/** What a search may vary within a topology. */
export interface SearchChoices {
  /** GPUs available in total. */
  gpuBudget: number;
  tp: number[];
  /** Batch sizes; each candidate serves as many concurrent requests as its max_batch_size unless `concurrency` is given. */
  maxBatchSize: number[];
  maxNumTokens: number[];
  /** Concurrent requests per instance, searched independently of the batch size when given. */
  concurrency?: number[];
}

export interface Topology {
  name: string;
  description: string;
  /** GPUs one serving instance of this spec uses. */
  gpusPerInstance(spec: JobSpec): number;
  /** The candidate settings a search simulates for this topology (each entry a point or a sub-grid). */
  searchSpace(c: SearchChoices): Record<string, SettingValue[]>[];
}

export const TOPOLOGIES: readonly Topology[] = [
  {
    name: "aggregated",
    description: "one engine instance does prefill and decode (TensorRT-LLM's aggregated serving)",
    gpusPerInstance: (spec) => {
      const p = spec.predictor?.parallelism;
      return Math.max(1, p?.tp || 1) * Math.max(1, p?.pp || 1);
    },
    searchSpace: (c) =>
      c.tp
        .filter((tp) => tp <= c.gpuBudget)
        .flatMap((tp) =>
          c.maxBatchSize.map((b) => ({
            topology: ["aggregated"],
            tp: [tp],
            max_batch_size: [b],
            max_num_tokens: c.maxNumTokens,
            concurrency: c.concurrency ?? [b],
          })),
        ),
  },
];

export function topology(name: string): Topology | undefined {
  return TOPOLOGIES.find((t) => t.name === name.trim().toLowerCase());
}
