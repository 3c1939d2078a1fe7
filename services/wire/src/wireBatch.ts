import type { SimBatch } from "@servesim/core";
import { PredictStreamRequest, type SimBatch as WireSimBatch } from "../gen/ts/servesim/v1/predictor.js";
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
  buf[pos++] = 18; // PredictStreamRequest.batch
  pos = writeVarint(buf, pos, batchBytes);
  buf[pos++] = 18; // SimBatch.packed
  pos = writeVarint(buf, pos, packedBytes);
  buf[pos++] = 10; // PackedEntries.is_context
  pos = writeVarint(buf, pos, n);
  for (let i = 0; i < n; i++) buf[pos++] = i < nc ? 1 : 0;
  buf[pos++] = 18; // PackedEntries.input_length
  pos = writeVarint(buf, pos, inputBytes);
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, inputs[i]!);
  buf[pos++] = 26; // PackedEntries.past_kv_length
  pos = writeVarint(buf, pos, pastBytes);
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, pasts[i]!);
  // SimBatch.num_context_requests, num_context_tokens, num_generation_requests, num_generation_tokens
  for (let f = 0; f < 4; f++) {
    if (totals[f] === 0) continue;
    buf[pos++] = (f + 3) << 3;
    pos = writeVarint(buf, pos, totals[f]!);
  }
  if (sequence !== 0) {
    buf[pos++] = 24; // PredictStreamRequest.sequence
    pos = writeVarint(buf, pos, sequence);
  }
  return buf;
}
