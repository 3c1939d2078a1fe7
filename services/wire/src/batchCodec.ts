/**
 * The wire SimBatch (proto) ↔ the engine's SimBatch. Decoding validates everything a client can get
 * wrong and names the field; encoding is what a remote predictor client sends.
 */

import type { SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { type DecodeRun, type EntryFacts, Phase, type SimBatch as WireSimBatch } from "../gen/ts/servesim/v1/predictor.js";

const UINT32_MAX = 0xffff_ffff;

export interface BatchLimits {
  /** Largest number of entries accepted (SERVESIM_MAX_BATCH_ENTRIES). */
  maxEntries: number;
}

/** Largest attention-DP rank and draft-token count accepted per entry (bounds the work one batch causes). */
export const MAX_ATTENTION_DP_RANK = 4095;
export const MAX_DRAFT_TOKENS = 64;

/** A facts array: empty (unset) or one bounded uint32 per entry. */
function factColumn(values: readonly number[] | undefined, n: number, max: number, field: string): number[] | undefined {
  if (!values || values.length === 0) return undefined;
  if (values.length !== n) throw new InvalidArgumentError(field, `has ${values.length} values for ${n} entries (one per entry, or none)`);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`${field}[${i}]`, `must be an integer in [0, ${max}] (got ${v})`);
  }
  return values as number[];
}

export interface DecodeRunLimits extends BatchLimits {
  /** Largest num_steps accepted (SERVESIM_MAX_DECODE_STEPS). */
  maxSteps: number;
}

function checkCount(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(field, `must be finite (got ${value})`);
  if (!Number.isInteger(value)) throw new InvalidArgumentError(field, `must be an integer (got ${value})`);
  if (value < 0) throw new InvalidArgumentError(field, `must be >= 0 (got ${value})`);
  if (value > UINT32_MAX) throw new InvalidArgumentError(field, `must fit in uint32 (got ${value})`);
}

function checkTotal(declared: number, actual: number, field: string, what: string): void {
  if (declared !== actual) throw new InvalidArgumentError(field, `is ${declared} but ${what} ${actual}`);
}

/** checkCount's test without building the field name (only a failing value needs it). */
const isCount = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;

/**
 * Largest token count one entry may carry (input_length, past_kv_length). Higher uint32 values are
 * what a negative int32 (e.g. -1) looks like once decoded, never a real sequence.
 */
export const MAX_ENTRY_TOKENS = 2 ** 31 - 1;

function checkTokens(value: number, field: string): void {
  if (value > MAX_ENTRY_TOKENS) {
    const signed = value > 2 ** 31 - 1 && value <= UINT32_MAX ? ` (a negative int32, ${value - 2 ** 32}, decodes to this)` : "";
    throw new InvalidArgumentError(field, `must be at most ${MAX_ENTRY_TOKENS} (got ${value})${signed}`);
  }
}

/**
 * Validates a wire batch and returns the engine's SimBatch, context entries first (their relative order
 * kept). `field` prefixes every error's field (e.g. "batch", "message[3].batch").
 */
export function decodeSimBatch(wire: WireSimBatch | undefined, limits: BatchLimits, field = "batch"): SimBatch {
  if (wire === undefined) throw new InvalidArgumentError(field, "is required");
  const entries = wire.entries ?? [];
  const packed = wire.packed;
  if (entries.length > 0 && packed !== undefined) {
    throw new InvalidArgumentError(field, "entries and packed are both set; send exactly one of them");
  }
  const columns = packed !== undefined ? packedColumns(packed, field) : undefined;
  const n = columns !== undefined ? columns.isContext.length : entries.length;
  if (n === 0) throw new InvalidArgumentError(field, "is empty; a batch needs at least one entry");
  if (n > limits.maxEntries) {
    throw new InvalidArgumentError(field, `has ${n} entries, more than the limit of ${limits.maxEntries} (SERVESIM_MAX_BATCH_ENTRIES)`);
  }
  const { isContext, inputLength: inputs, pastKvLength: pasts, badPhase } = columns ?? entryColumns(entries);
  const fieldOf = (i: number, name: string): string => (packed !== undefined ? `${field}.packed.${name}[${i}]` : `${field}.entries[${i}].${name}`);

  let numContext = 0;
  let contextTokens = 0;
  let generationTokens = 0;
  let contextFirst = true;
  for (let i = 0; i < n; i++) {
    if (i === badPhase) throw phaseError(entries[i]!.phase, `${field}.entries[${i}].phase`);
    const input = inputs[i]!;
    const past = pasts[i]!;
    if (!isCount(input)) checkCount(input, fieldOf(i, "input_length"));
    if (!isCount(past)) checkCount(past, fieldOf(i, "past_kv_length"));
    if (input > MAX_ENTRY_TOKENS) checkTokens(input, fieldOf(i, "input_length"));
    if (past > MAX_ENTRY_TOKENS) checkTokens(past, fieldOf(i, "past_kv_length"));
    if (isContext[i] === true) {
      if (input === 0) throw new InvalidArgumentError(fieldOf(i, "input_length"), "must be >= 1 for a context entry (the chunk it computes)");
      if (numContext !== i) contextFirst = false;
      numContext += 1;
      contextTokens += input;
    } else {
      if (input !== 1) throw new InvalidArgumentError(fieldOf(i, "input_length"), `must be 1 for a generation entry (got ${input})`);
      generationTokens += input;
    }
  }
  const numGeneration = n - numContext;
  const ranks = factColumn(wire.facts?.attentionDpRank, n, MAX_ATTENTION_DP_RANK, `${field}.facts.attention_dp_rank`);
  const drafts = factColumn(wire.facts?.numDraftTokens, n, MAX_DRAFT_TOKENS, `${field}.facts.num_draft_tokens`);
  checkTotal(wire.numContextRequests, numContext, `${field}.num_context_requests`, "the batch has context entries:");
  checkTotal(wire.numContextTokens, contextTokens, `${field}.num_context_tokens`, "the context entries' input_length sums to");
  checkTotal(wire.numGenerationRequests, numGeneration, `${field}.num_generation_requests`, "the batch has generation entries:");
  checkTotal(wire.numGenerationTokens, generationTokens, `${field}.num_generation_tokens`, "the generation entries' input_length sums to");

  const withFacts = (b: SimBatch, r: number[] | undefined, d: number[] | undefined): SimBatch => {
    if (r) b.attentionDpRank = r;
    if (d) b.draftTokens = d;
    return b;
  };
  // Clients send context entries first (the engine's order): then the decoded columns are the batch.
  if (contextFirst) return withFacts({ numContext, numGeneration, inputLength: inputs, pastKvLength: pasts, numContextTokens: contextTokens }, ranks, drafts);
  const inputLength = new Array<number>(n);
  const pastKvLength = new Array<number>(n);
  const rankOut = ranks ? new Array<number>(n) : undefined;
  const draftOut = drafts ? new Array<number>(n) : undefined;
  let c = 0;
  let g = numContext;
  for (let i = 0; i < n; i++) {
    const slot = isContext[i] === true ? c++ : g++;
    inputLength[slot] = inputs[i]!;
    pastKvLength[slot] = pasts[i]!;
    if (rankOut) rankOut[slot] = ranks![i]!;
    if (draftOut) draftOut[slot] = drafts![i]!;
  }
  return withFacts({ numContext, numGeneration, inputLength, pastKvLength, numContextTokens: contextTokens }, rankOut, draftOut);
}

/** The facts of an engine batch for the wire (copied), or undefined when it has none. */
function encodeFacts(batch: SimBatch, n: number): EntryFacts | undefined {
  if (!batch.attentionDpRank && !batch.draftTokens) return undefined;
  const copy = (a: ArrayLike<number> | undefined): number[] => (a ? Array.from({ length: n }, (_, i) => a[i]!) : []);
  return { attentionDpRank: copy(batch.attentionDpRank), numDraftTokens: copy(batch.draftTokens) };
}

interface Columns {
  isContext: ArrayLike<boolean>;
  inputLength: number[];
  pastKvLength: number[];
  /** The first entry whose phase is neither CONTEXT nor GENERATION (-1: none). */
  badPhase: number;
}

/** The packed arrays themselves (they belong to the decoded message), once their lengths agree. */
function packedColumns(packed: NonNullable<WireSimBatch["packed"]>, field: string): Columns {
  const { isContext = [], inputLength = [], pastKvLength = [] } = packed;
  if (isContext.length !== inputLength.length || isContext.length !== pastKvLength.length) {
    throw new InvalidArgumentError(
      `${field}.packed`,
      `is_context, input_length and past_kv_length must have the same length (got ${isContext.length}, ${inputLength.length}, ${pastKvLength.length})`,
    );
  }
  return { isContext, inputLength, pastKvLength, badPhase: -1 };
}

/** The entries as columns; the caller rejects a bad phase in entry order, among the other per-entry checks. */
function entryColumns(entries: WireSimBatch["entries"]): Columns {
  const n = entries.length;
  const isContext = new Array<boolean>(n);
  const inputLength = new Array<number>(n);
  const pastKvLength = new Array<number>(n);
  let badPhase = -1;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    if (e.phase !== Phase.PHASE_CONTEXT && e.phase !== Phase.PHASE_GENERATION && badPhase < 0) badPhase = i;
    isContext[i] = e.phase === Phase.PHASE_CONTEXT;
    inputLength[i] = e.inputLength;
    pastKvLength[i] = e.pastKvLength;
  }
  return { isContext, inputLength, pastKvLength, badPhase };
}

function phaseError(phase: Phase, field: string): InvalidArgumentError {
  const why = phase === Phase.PHASE_UNSPECIFIED ? "is unspecified" : `is unknown (${String(phase)})`;
  return new InvalidArgumentError(field, `${why}; must be PHASE_CONTEXT or PHASE_GENERATION`);
}

export type WireBatchForm = "entries" | "packed";

/**
 * Encodes an engine SimBatch for the wire, copying it synchronously (the engine reuses its arrays).
 * "packed" (default) is the compact form for large batches; "entries" is the readable one.
 */
export function encodeSimBatch(batch: SimBatch, form: WireBatchForm = "packed"): WireSimBatch {
  const n = batch.numContext + batch.numGeneration;
  let generationTokens = 0;
  for (let i = batch.numContext; i < n; i++) generationTokens += batch.inputLength[i]!;
  const totals = {
    numContextRequests: batch.numContext,
    numContextTokens: batch.numContextTokens,
    numGenerationRequests: batch.numGeneration,
    numGenerationTokens: generationTokens,
  };
  if (form === "entries") {
    const entries = new Array<WireSimBatch["entries"][number]>(n);
    for (let i = 0; i < n; i++) {
      entries[i] = {
        phase: i < batch.numContext ? Phase.PHASE_CONTEXT : Phase.PHASE_GENERATION,
        inputLength: batch.inputLength[i]!,
        pastKvLength: batch.pastKvLength[i]!,
      };
    }
    return { entries, packed: undefined, ...totals, facts: encodeFacts(batch, n) };
  }
  const isContext = new Array<boolean>(n);
  const inputLength = new Array<number>(n);
  const pastKvLength = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    isContext[i] = i < batch.numContext;
    inputLength[i] = batch.inputLength[i]!;
    pastKvLength[i] = batch.pastKvLength[i]!;
  }
  return { entries: [], packed: { isContext, inputLength, pastKvLength }, ...totals, facts: encodeFacts(batch, n) };
}

/** A validated DecodeRun. */
export interface DecodeRunSpec {
  pastKvLength: number[];
  numSteps: number;
}

/** Validates a wire DecodeRun; `field` prefixes error fields (e.g. "message[2].decode_run"). */
export function decodeDecodeRun(wire: DecodeRun, limits: DecodeRunLimits, field = "decode_run"): DecodeRunSpec {
  const past = wire.pastKvLength ?? [];
  if (past.length === 0) throw new InvalidArgumentError(`${field}.past_kv_length`, "is empty; a decode run needs at least one request");
  if (past.length > limits.maxEntries) {
    throw new InvalidArgumentError(
      `${field}.past_kv_length`,
      `has ${past.length} requests, more than the limit of ${limits.maxEntries} (SERVESIM_MAX_BATCH_ENTRIES)`,
    );
  }
  const steps = wire.numSteps;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError(`${field}.num_steps`, `must be an integer >= 1 (got ${steps})`);
  if (steps > limits.maxSteps) {
    throw new InvalidArgumentError(`${field}.num_steps`, `is ${steps}, more than the limit of ${limits.maxSteps} (SERVESIM_MAX_DECODE_STEPS)`);
  }
  for (let j = 0; j < past.length; j++) {
    const p = past[j]!;
    if (!isCount(p)) checkCount(p, `${field}.past_kv_length[${j}]`);
    if (p + steps - 1 > UINT32_MAX) {
      throw new InvalidArgumentError(`${field}.past_kv_length[${j}]`, `plus num_steps - 1 must fit in uint32 (got ${p + steps - 1})`);
    }
    if (p > MAX_ENTRY_TOKENS) checkTokens(p, `${field}.past_kv_length[${j}]`);
  }
  return { pastKvLength: past.slice(), numSteps: steps };
}

/** Encodes a decode run for the wire (copies the lengths). */
export function encodeDecodeRun(pastKvLength: ArrayLike<number>, numSteps: number): DecodeRun {
  return { pastKvLength: Array.from(pastKvLength), numSteps };
}

/**
 * The generation-only batches of a decode run, one per step: step i has every request at
 * past_kv_length[j] + i. The returned batch object and its arrays are reused from step to step.
 */
export function* decodeRunBatches(run: DecodeRunSpec): Generator<SimBatch, void, void> {
  const n = run.pastKvLength.length;
  const inputLength = new Array<number>(n).fill(1);
  const pastKvLength = run.pastKvLength.slice();
  const batch: SimBatch = { numContext: 0, numGeneration: n, inputLength, pastKvLength, numContextTokens: 0 };
  for (let step = 0; step < run.numSteps; step++) {
    if (step > 0) for (let j = 0; j < n; j++) pastKvLength[j] = pastKvLength[j]! + 1;
    yield batch;
  }
}
