/**
 * The wire SimBatch (proto) ↔ the engine's SimBatch. Decoding validates everything a client can get
 * wrong and names the field; encoding is what a remote predictor client sends.
 */
import { InvalidArgumentError } from "../../common/src/errors.js";
import type { SimBatch } from "../../engine/src/simBatch.js";
import { Phase, type DecodeRun, type SimBatch as WireSimBatch } from "../../../gen/ts/servesim/v1/predictor.js";

const UINT32_MAX = 0xffff_ffff;

export interface BatchLimits {
  /** Largest number of entries accepted (SERVESIM_MAX_BATCH_ENTRIES). */
  maxEntries: number;
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

  let n: number;
  let isContext: (i: number) => boolean;
  let inputAt: (i: number) => number;
  let pastAt: (i: number) => number;
  let fieldOf: (i: number, name: string) => string;
  if (packed !== undefined) {
    const { isContext: ctx = [], inputLength = [], pastKvLength = [] } = packed;
    if (ctx.length !== inputLength.length || ctx.length !== pastKvLength.length) {
      throw new InvalidArgumentError(
        `${field}.packed`,
        `is_context, input_length and past_kv_length must have the same length (got ${ctx.length}, ${inputLength.length}, ${pastKvLength.length})`,
      );
    }
    n = ctx.length;
    isContext = (i) => ctx[i] === true;
    inputAt = (i) => inputLength[i]!;
    pastAt = (i) => pastKvLength[i]!;
    fieldOf = (i, name) => `${field}.packed.${name}[${i}]`;
  } else {
    n = entries.length;
    isContext = (i) => {
      const phase = entries[i]!.phase;
      if (phase === Phase.PHASE_CONTEXT) return true;
      if (phase === Phase.PHASE_GENERATION) return false;
      const why = phase === Phase.PHASE_UNSPECIFIED ? "is unspecified" : `is unknown (${String(phase)})`;
      throw new InvalidArgumentError(`${field}.entries[${i}].phase`, `${why}; must be PHASE_CONTEXT or PHASE_GENERATION`);
    };
    inputAt = (i) => entries[i]!.inputLength;
    pastAt = (i) => entries[i]!.pastKvLength;
    fieldOf = (i, name) => `${field}.entries[${i}].${name}`;
  }

  if (n === 0) throw new InvalidArgumentError(field, "is empty; a batch needs at least one entry");
  if (n > limits.maxEntries) {
    throw new InvalidArgumentError(field, `has ${n} entries, more than the limit of ${limits.maxEntries} (SERVESIM_MAX_BATCH_ENTRIES)`);
  }

  let numContext = 0;
  let contextTokens = 0;
  let generationTokens = 0;
  const contextFlags = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const context = (contextFlags[i] = isContext(i));
    const input = inputAt(i);
    checkCount(input, fieldOf(i, "input_length"));
    checkCount(pastAt(i), fieldOf(i, "past_kv_length"));
    if (context) {
      if (input === 0) throw new InvalidArgumentError(fieldOf(i, "input_length"), "must be >= 1 for a context entry (the chunk it computes)");
      numContext += 1;
      contextTokens += input;
    } else {
      if (input !== 1) throw new InvalidArgumentError(fieldOf(i, "input_length"), `must be 1 for a generation entry (got ${input})`);
      generationTokens += input;
    }
  }
  const numGeneration = n - numContext;
  checkTotal(wire.numContextRequests, numContext, `${field}.num_context_requests`, "the batch has context entries:");
  checkTotal(wire.numContextTokens, contextTokens, `${field}.num_context_tokens`, "the context entries' input_length sums to");
  checkTotal(wire.numGenerationRequests, numGeneration, `${field}.num_generation_requests`, "the batch has generation entries:");
  checkTotal(wire.numGenerationTokens, generationTokens, `${field}.num_generation_tokens`, "the generation entries' input_length sums to");

  const inputLength = new Array<number>(n);
  const pastKvLength = new Array<number>(n);
  let c = 0;
  let g = numContext;
  for (let i = 0; i < n; i++) {
    const slot = contextFlags[i] ? c++ : g++;
    inputLength[slot] = inputAt(i);
    pastKvLength[slot] = pastAt(i);
  }
  return { numContext, numGeneration, inputLength, pastKvLength, numContextTokens: contextTokens };
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
    return { entries, packed: undefined, ...totals };
  }
  const isContext = new Array<boolean>(n);
  const inputLength = new Array<number>(n);
  const pastKvLength = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    isContext[i] = i < batch.numContext;
    inputLength[i] = batch.inputLength[i]!;
    pastKvLength[i] = batch.pastKvLength[i]!;
  }
  return { entries: [], packed: { isContext, inputLength, pastKvLength }, ...totals };
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
    checkCount(past[j]!, `${field}.past_kv_length[${j}]`);
    if (past[j]! + steps - 1 > UINT32_MAX) {
      throw new InvalidArgumentError(`${field}.past_kv_length[${j}]`, `plus num_steps - 1 must fit in uint32 (got ${past[j]! + steps - 1})`);
    }
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
