import type { SimRequest } from "../../engine/src/types.js";
import type { Dataset } from "./dataset.js";
import { generateLengths, generateTokenIds, resolveSyntheticSpec, type SyntheticSpec } from "./generator.js";
import { computeDatasetMetadata } from "./metadata.js";

export interface SyntheticOptions {
  /** Generate token ids (needed only for prefix-cache reuse; costs memory and time). Default true. */
  includeInputIds?: boolean;
  /** Recorded as the dataset path in the metadata; default null. */
  datasetPath?: string | null;
}

/**
 * The same workload `writeDatasetFile(spec)` would write, built directly as SimRequest[]
 * (task ids 0..N-1) without going through JSON.
 */
export function syntheticDataset(spec: SyntheticSpec, options: SyntheticOptions = {}): Dataset {
  const resolved = resolveSyntheticSpec(spec);
  const { inputLengths, outputLengths } = generateLengths(spec);
  const requests: SimRequest[] = new Array(inputLengths.length);
  for (let i = 0; i < inputLengths.length; i++) {
    requests[i] = { taskId: i, inputLength: inputLengths[i]!, outputTokens: outputLengths[i]! };
  }
  if (options.includeInputIds ?? true) {
    let i = 0;
    for (const ids of generateTokenIds(inputLengths, resolved)) requests[i++]!.inputIds = ids;
  }
  return {
    requests,
    metadata: computeDatasetMetadata(inputLengths, outputLengths, options.datasetPath ?? null),
    warnings: [],
    approxPromptTokens: false,
  };
}
