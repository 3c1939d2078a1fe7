import { type PercentileStats, percentileStats } from "@servesim/core";

/** trtllm-bench's `DatasetMetadata` (tensorrt_llm/bench/dataclasses/general.py), in camelCase. */
export interface DatasetMetadata {
  islStats: PercentileStats;
  oslStats: PercentileStats;
  seqLenStats: PercentileStats;
  numRequests: number;
  /** Printed as `None` when null (e.g. a synthetic workload that was never written to a file). */
  datasetPath: string | null;
  maxIsl: number;
  maxOsl: number;
  maxSequenceLength: number;
  /** `int(average)`: truncated, not rounded. */
  avgIsl: number;
  avgOsl: number;
  avgSequenceLength: number;
}

/** Metadata of a workload from its per-request input and output lengths. */
export function computeDatasetMetadata(inputLengths: ArrayLike<number>, outputLengths: ArrayLike<number>, datasetPath: string | null): DatasetMetadata {
  const n = inputLengths.length;
  if (outputLengths.length !== n) throw new RangeError("inputLengths and outputLengths differ in length");
  const seq = new Float64Array(n);
  for (let i = 0; i < n; i++) seq[i] = inputLengths[i]! + outputLengths[i]!;
  const islStats = percentileStats(inputLengths);
  const oslStats = percentileStats(outputLengths);
  const seqLenStats = percentileStats(seq);
  return {
    islStats,
    oslStats,
    seqLenStats,
    numRequests: n,
    datasetPath,
    maxIsl: Math.trunc(islStats.maximum),
    maxOsl: Math.trunc(oslStats.maximum),
    maxSequenceLength: Math.trunc(seqLenStats.maximum),
    avgIsl: Math.trunc(islStats.average),
    avgOsl: Math.trunc(oslStats.average),
    avgSequenceLength: Math.trunc(seqLenStats.average),
  };
}
