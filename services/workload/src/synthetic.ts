import { BlockKeyBuilder, KeySlabs, type SimRequest } from "@servesim/core";
import type { Dataset } from "./dataset.js";
import { generateLengths, resolveSyntheticSpec, type SyntheticSpec, TokenIdSampler } from "./generator.js";
import { computeDatasetMetadata } from "./metadata.js";

export interface SyntheticOptions {
  /** Generate token ids (needed only for prefix-cache reuse; costs memory and time). Default true. */
  includeInputIds?: boolean;
  /**
   * Keep each prompt's prefix-cache block keys for this block size instead of its ids (the ids are
   * generated and hashed one request at a time). 0 or undefined: keep the ids (per includeInputIds).
   */
  tokensPerBlock?: number;
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
  const n = inputLengths.length;
  const requests: SimRequest[] = new Array(n);
  const tpb = options.tokensPerBlock ?? 0;
  if (tpb > 0) {
    const sampler = new TokenIdSampler(resolved);
    let longest = 0;
    for (let i = 0; i < n; i++) longest = Math.max(longest, inputLengths[i]!);
    const scratch = new Uint32Array(longest);
    const keys = new BlockKeyBuilder(tpb);
    const slabs = new KeySlabs();
    for (let i = 0; i < n; i++) {
      const isl = inputLengths[i]!;
      keys.pushAll(sampler.next(isl, scratch));
      requests[i] = { taskId: i, inputLength: isl, outputTokens: outputLengths[i]!, blocks: keys.finish(slabs) };
    }
  } else if (options.includeInputIds ?? true) {
    const sampler = new TokenIdSampler(resolved);
    let totalIds = 0;
    for (let i = 0; i < n; i++) totalIds += inputLengths[i]!;
    const slabs = new IdSlabs(totalIds);
    for (let i = 0; i < n; i++) {
      const isl = inputLengths[i]!;
      requests[i] = { taskId: i, inputLength: isl, outputTokens: outputLengths[i]!, inputIds: sampler.next(isl, slabs.take(isl)) };
    }
  } else {
    for (let i = 0; i < n; i++) requests[i] = { taskId: i, inputLength: inputLengths[i]!, outputTokens: outputLengths[i]! };
  }
  return {
    requests,
    metadata: computeDatasetMetadata(inputLengths, outputLengths, options.datasetPath ?? null),
    warnings: [],
    approxPromptTokens: false,
  };
}

/** Elements per shared id buffer (64 MiB): one allocation for many requests instead of one each. */
const SLAB_IDS = 1 << 24;

/**
 * Hands out consecutive views of large Uint32Array slabs, each no larger than the ids still to come
 * (a request longer than a quarter slab gets its own buffer).
 */
class IdSlabs {
  private slab = new Uint32Array(0);
  private used = 0;

  constructor(private remaining: number) {}

  take(n: number): Uint32Array {
    this.remaining -= n;
    if (n > SLAB_IDS / 4) return new Uint32Array(n);
    if (this.used + n > this.slab.length) {
      this.slab = new Uint32Array(Math.min(SLAB_IDS, n + this.remaining));
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }
}
