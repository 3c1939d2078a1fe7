import type { PromptBlocks, SimRequest } from "@servesim/core";

/**
 * Requests as a few flat typed arrays: what a resolved workload is shipped as to worker threads (in
 * SharedArrayBuffers, so a 10k-request workload is shared, not copied) and stored as on disk (the CLI's
 * parsed-dataset cache). Token ids of request i are ids[idStart[i], idStart[i + 1]).
 */
export interface PackedRequests {
  taskIds: Float64Array;
  inputLengths: Uint32Array;
  outputTokens: Uint32Array;
  /** n + 1 offsets into ids. */
  idStart: Float64Array;
  /** 1 when the request carries token ids. */
  hasIds: Uint8Array;
  ids: Uint32Array;
  /** Prompts carried as prefix-cache block keys (PromptBlocks): their keys are keys[keyStart[i], keyStart[i + 1]). */
  hasBlocks: Uint8Array;
  keyStart: Float64Array;
  keys: Float64Array;
  /** tailH1, tailH2 of each request (2 per request). */
  tails: Int32Array;
  /** [tokens per block] of the block keys (0 without any). */
  blockSize: Float64Array;
}

/** The arrays of a PackedRequests, in a fixed order (the on-disk and postMessage layout). */
export const PACKED_FIELDS = [
  "taskIds",
  "inputLengths",
  "outputTokens",
  "idStart",
  "hasIds",
  "ids",
  "hasBlocks",
  "keyStart",
  "keys",
  "tails",
  "blockSize",
] as const;

function alloc<T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(
  make: new (b: ArrayBufferLike) => T,
  bytesPer: number,
  n: number,
  shared: boolean,
): T {
  const buffer = shared ? new SharedArrayBuffer(Math.max(1, n) * bytesPer) : new ArrayBuffer(Math.max(1, n) * bytesPer);
  return new make(buffer).subarray(0, n) as T;
}

/** Packs requests; with `shared` every array lives in a SharedArrayBuffer. */
export function packRequests(requests: readonly SimRequest[], shared = false): PackedRequests {
  const n = requests.length;
  let total = 0;
  let totalKeys = 0;
  let blockSize = 0;
  for (const r of requests) {
    total += r.inputIds?.length ?? 0;
    if (r.blocks) {
      totalKeys += r.blocks.keys.length;
      if (blockSize !== 0 && r.blocks.tokensPerBlock !== blockSize) throw new RangeError("requests keyed for different block sizes");
      blockSize = r.blocks.tokensPerBlock;
    }
  }
  const p: PackedRequests = {
    taskIds: alloc(Float64Array, 8, n, shared),
    inputLengths: alloc(Uint32Array, 4, n, shared),
    outputTokens: alloc(Uint32Array, 4, n, shared),
    idStart: alloc(Float64Array, 8, n + 1, shared),
    hasIds: alloc(Uint8Array, 1, n, shared),
    ids: alloc(Uint32Array, 4, total, shared),
    hasBlocks: alloc(Uint8Array, 1, n, shared),
    keyStart: alloc(Float64Array, 8, n + 1, shared),
    keys: alloc(Float64Array, 8, totalKeys, shared),
    tails: alloc(Int32Array, 4, 2 * n, shared),
    blockSize: alloc(Float64Array, 8, 1, shared),
  };
  p.blockSize[0] = blockSize;
  let at = 0;
  let keyAt = 0;
  for (let i = 0; i < n; i++) {
    const r = requests[i]!;
    p.taskIds[i] = r.taskId;
    p.inputLengths[i] = r.inputLength;
    p.outputTokens[i] = r.outputTokens;
    p.idStart[i] = at;
    if (r.inputIds !== undefined) {
      p.hasIds[i] = 1;
      const src = r.inputIds;
      if (src instanceof Uint32Array) p.ids.set(src, at);
      else for (let k = 0; k < src.length; k++) p.ids[at + k] = src[k]!;
      at += src.length;
    }
    p.keyStart[i] = keyAt;
    if (r.blocks) {
      p.hasBlocks[i] = 1;
      p.keys.set(r.blocks.keys, keyAt);
      keyAt += r.blocks.keys.length;
      p.tails[2 * i] = r.blocks.tailH1;
      p.tails[2 * i + 1] = r.blocks.tailH2;
    }
  }
  p.idStart[n] = at;
  p.keyStart[n] = keyAt;
  return p;
}

/** The requests back, token ids as views on the packed array (nothing copied). */
export function unpackRequests(p: PackedRequests): SimRequest[] {
  const n = p.taskIds.length;
  const out: SimRequest[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r: SimRequest = { taskId: p.taskIds[i]!, inputLength: p.inputLengths[i]!, outputTokens: p.outputTokens[i]! };
    if (p.hasIds[i] === 1) r.inputIds = p.ids.subarray(p.idStart[i]!, p.idStart[i + 1]!);
    if (p.hasBlocks[i] === 1) {
      const blocks: PromptBlocks = {
        tokensPerBlock: p.blockSize[0]!,
        keys: p.keys.subarray(p.keyStart[i]!, p.keyStart[i + 1]!),
        tailH1: p.tails[2 * i]!,
        tailH2: p.tails[2 * i + 1]!,
      };
      r.blocks = blocks;
    }
    out[i] = r;
  }
  return out;
}
