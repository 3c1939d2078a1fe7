import { BlockKeyBuilder, KeySlabs, type SimRequest } from "@servesim/core";
import type { Dataset } from "./dataset.js";
import { generateLengths, promptIds, resolveSyntheticSpec, type SyntheticSpec } from "./generator.js";
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
  const { inputLengths: ownLengths, outputLengths } = generateLengths(spec);
  const n = ownLengths.length;
  const p = resolved.prefixLen;
  // With shared prefixes, a prompt is the prefix followed by the distribution's length of its own ids.
  const inputLengths = p === 0 ? ownLengths : Int32Array.from(ownLengths, (l) => l + p);
  const requests: SimRequest[] = new Array(n);
  const tpb = options.tokensPerBlock ?? 0;
  if (tpb > 0) {
    const keys = new BlockKeyBuilder(tpb);
    const slabs = new KeySlabs();
    let i = 0;
    for (const ids of promptIds(spec, ownLengths)) {
      keys.pushAll(ids);
      requests[i] = { taskId: i, inputLength: inputLengths[i]!, outputTokens: outputLengths[i]!, blocks: keys.finish(slabs) };
      i++;
    }
  } else if (options.includeInputIds ?? true) {
    let totalIds = 0;
    for (let i = 0; i < n; i++) totalIds += inputLengths[i]!;
    const slabs = new IdSlabs(totalIds);
    let i = 0;
    for (const ids of promptIds(spec, ownLengths)) {
      const own = slabs.take(ids.length);
      own.set(ids);
      requests[i] = { taskId: i, inputLength: inputLengths[i]!, outputTokens: outputLengths[i]!, inputIds: own };
      i++;
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
