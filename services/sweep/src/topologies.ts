/**
 * How the GPUs of one sweep point or search candidate serve: the extension point of the cluster layer.
 * `aggregated`: one engine instance (TP × PP GPUs) doing prefill and decode, replicated as many times as
 * a GPU budget allows (each replica sees the same load, so per-GPU figures are the instance's).
 * `disaggregated`: prefill and decode worker pools (the prefill_* / decode_* settings), simulated as one
 * cluster (services/cluster) whose GPUs are all counted. A topology is a name, the GPUs one deployable
 * unit of a spec uses, and the candidates a search tries.
 */
import type { JobSpec, WorkerPool } from "@servesim/wire/scheduler";
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
  /** Topologies searched (default: aggregated only). */
  topologies?: string[];
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
      !(c.topologies ?? ["aggregated"]).includes("aggregated")
        ? []
        : c.tp
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
  {
    name: "disaggregated",
    description: "prefill workers and decode workers with the KV cache moved between them (TensorRT-LLM's disaggregated serving)",
    gpusPerInstance: (spec) => {
      const base = spec.predictor?.parallelism;
      const gpus = (p: WorkerPool | undefined): number =>
        (p?.numWorkers ?? 1) * Math.max(1, p?.parallelism?.tp || base?.tp || 1) * Math.max(1, p?.parallelism?.pp || base?.pp || 1);
      return gpus(spec.cluster?.prefill) + gpus(spec.cluster?.decode);
    },
    // One or two prefill workers of each TP, the rest of the budget as decode workers of each TP; the
    // decode pool's slots (workers × batch size) are the concurrency.
    searchSpace: (c) => {
      if (!(c.topologies ?? ["aggregated"]).includes("disaggregated")) return [];
      const out: Record<string, SettingValue[]>[] = [];
      for (const ptp of c.tp)
        for (const pw of [1, 2])
          for (const dtp of c.tp) {
            const dw = Math.floor((c.gpuBudget - pw * ptp) / dtp);
            if (dw < 1) continue;
            for (const b of c.maxBatchSize)
              out.push({
                topology: ["disaggregated"],
                prefill_workers: [pw],
                prefill_tp: [ptp],
                prefill_max_batch_size: [1],
                prefill_max_num_tokens: c.maxNumTokens,
                decode_workers: [dw],
                decode_tp: [dtp],
                decode_max_batch_size: [b],
                concurrency: [b * dw],
              });
          }
      return out;
    },
  },
];

export function topology(name: string): Topology | undefined {
  return TOPOLOGIES.find((t) => t.name === name.trim().toLowerCase());
}
