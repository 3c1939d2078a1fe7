import type { SimBatch } from "@servesim/core";
import { PackedEntries, PredictStreamRequest, type SimBatch as WireSimBatch, SimBatch as WireSimBatchCodec } from "../gen/ts/servesim/v1/predictor.js";
import { encodeSimBatch } from "./batchCodec.js";

/** Batches with more entries than this go out in the packed form (parallel arrays). */
export const PACKED_ABOVE_ENTRIES = 16;

/** The wire form of an engine batch, copied synchronously (the engine reuses its arrays). */
export function encodeBatch(batch: SimBatch): WireSimBatch {
  const n = batch.numContext + batch.numGeneration;
  return encodeSimBatch(batch, n > PACKED_ABOVE_ENTRIES ? "packed" : "entries");
}

const UINT32_MAX = 0xffff_ffff;
const isUint32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;

/** Bytes of the varint of a uint32. */
function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5;
}

/** Writes the varint of a uint32 at `pos`; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/**
 * The first byte of a message with one field set: that field's tag (field number << 3 | wire type).
 * The tags below come from the generated encoders this way (so from the proto), not from literals.
 */
function tagOf(encoded: Uint8Array, field: string): number {
  const tag = encoded[0];
  // One-byte tags (field numbers up to 15) are what the writer below assumes.
  if (tag === undefined || tag >= 0x80) throw new Error(`wireBatch: ${field} has no one-byte tag`);
  return tag;
}

const TAGS = {
  requestBatch: tagOf(PredictStreamRequest.encode(PredictStreamRequest.fromPartial({ batch: {} })).finish(), "PredictStreamRequest.batch"),
  requestSequence: tagOf(PredictStreamRequest.encode(PredictStreamRequest.fromPartial({ sequence: 1 })).finish(), "PredictStreamRequest.sequence"),
  batchPacked: tagOf(WireSimBatchCodec.encode(WireSimBatchCodec.fromPartial({ packed: {} })).finish(), "SimBatch.packed"),
  isContext: tagOf(PackedEntries.encode(PackedEntries.fromPartial({ isContext: [true] })).finish(), "PackedEntries.is_context"),
  inputLength: tagOf(PackedEntries.encode(PackedEntries.fromPartial({ inputLength: [1] })).finish(), "PackedEntries.input_length"),
  pastKvLength: tagOf(PackedEntries.encode(PackedEntries.fromPartial({ pastKvLength: [1] })).finish(), "PackedEntries.past_kv_length"),
  /** SimBatch.num_context_requests, num_context_tokens, num_generation_requests, num_generation_tokens. */
  totals: [
    tagOf(WireSimBatchCodec.encode(WireSimBatchCodec.fromPartial({ numContextRequests: 1 })).finish(), "SimBatch.num_context_requests"),
    tagOf(WireSimBatchCodec.encode(WireSimBatchCodec.fromPartial({ numContextTokens: 1 })).finish(), "SimBatch.num_context_tokens"),
    tagOf(WireSimBatchCodec.encode(WireSimBatchCodec.fromPartial({ numGenerationRequests: 1 })).finish(), "SimBatch.num_generation_requests"),
    tagOf(WireSimBatchCodec.encode(WireSimBatchCodec.fromPartial({ numGenerationTokens: 1 })).finish(), "SimBatch.num_generation_tokens"),
  ],
} as const;

/** 1-byte tag + varint length + payload. */
const fieldSize = (payload: number): number => 1 + varintSize(payload) + payload;

/**
 * The serialized PredictStreamRequest { batch, sequence } of an engine batch: the bytes ts-proto's
 * encoder gives for `{ batch: encodeBatch(batch), sequence }`, written straight from the engine's
 * arrays (no intermediate message, no BinaryWriter). Values that are not all uint32 (never from the
 * engine) and small batches (the entries form) go through ts-proto.
 */
export function serializeBatchRequest(batch: SimBatch, sequence: number): Buffer {
  const nc = batch.numContext;
  const n = nc + batch.numGeneration;
  const inputs = batch.inputLength;
  const pasts = batch.pastKvLength;
  let generationTokens = 0;
  for (let i = nc; i < n; i++) generationTokens += inputs[i]!;
  // Per-entry facts (attention-DP ranks, draft tokens) go through ts-proto.
  let direct =
    n > PACKED_ABOVE_ENTRIES &&
    !batch.attentionDpRank &&
    !batch.draftTokens &&
    isUint32(nc) &&
    isUint32(batch.numGeneration) &&
    isUint32(batch.numContextTokens);
  direct &&= isUint32(generationTokens) && isUint32(sequence);
  let inputBytes = 0;
  let pastBytes = 0;
  for (let i = 0; direct && i < n; i++) {
    const input = inputs[i]!;
    const past = pasts[i]!;
    if (!isUint32(input) || !isUint32(past)) direct = false;
    else {
      inputBytes += varintSize(input);
      pastBytes += varintSize(past);
    }
  }
  if (!direct) {
    const message = { config: undefined, batch: encodeBatch(batch), decodeRun: undefined, sequence, includeBreakdown: false };
    return Buffer.from(PredictStreamRequest.encode(message).finish());
  }

  const packedBytes = fieldSize(n) + fieldSize(inputBytes) + fieldSize(pastBytes);
  const totals = [nc, batch.numContextTokens, batch.numGeneration, generationTokens];
  let batchBytes = fieldSize(packedBytes);
  for (const t of totals) if (t !== 0) batchBytes += 1 + varintSize(t);
  const size = fieldSize(batchBytes) + (sequence !== 0 ? 1 + varintSize(sequence) : 0);

  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  buf[pos++] = TAGS.requestBatch;
  pos = writeVarint(buf, pos, batchBytes);
  buf[pos++] = TAGS.batchPacked;
  pos = writeVarint(buf, pos, packedBytes);
  buf[pos++] = TAGS.isContext;
  pos = writeVarint(buf, pos, n);
  for (let i = 0; i < n; i++) buf[pos++] = i < nc ? 1 : 0;
  buf[pos++] = TAGS.inputLength;
  pos = writeVarint(buf, pos, inputBytes);
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, inputs[i]!);
  buf[pos++] = TAGS.pastKvLength;
  pos = writeVarint(buf, pos, pastBytes);
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, pasts[i]!);
  for (let f = 0; f < 4; f++) {
    if (totals[f] === 0) continue;
    buf[pos++] = TAGS.totals[f]!;
    pos = writeVarint(buf, pos, totals[f]!);
  }
  if (sequence !== 0) {
    buf[pos++] = TAGS.requestSequence;
    pos = writeVarint(buf, pos, sequence);
  }
  return buf;
}
