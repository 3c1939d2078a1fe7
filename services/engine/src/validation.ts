import { InvalidArgumentError } from "@servesim/core";
import type { Arrivals, EngineOptions, SimRequest } from "./types.js";

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;
const MAX_INT32 = 2147483647;

function posInt(v: unknown, field: string): void {
  if (!isPosInt(v) || v > MAX_INT32) throw new InvalidArgumentError(field, `must be an integer in [1, ${MAX_INT32}] (got ${String(v)})`);
}

/** Checks engine options; throws InvalidArgumentError naming the offending field. */
export function validateOptions(o: EngineOptions, numRequests: number): void {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("options", "engine options are required");
  posInt(o.maxBatchSize, "options.maxBatchSize");
  posInt(o.maxNumTokens, "options.maxNumTokens");
  posInt(o.maxSeqLen, "options.maxSeqLen");
  posInt(o.ppSize, "options.ppSize");
  if (o.ppSize > 1) {
    throw new InvalidArgumentError(
      "options.ppSize",
      `pipeline parallelism (pp_size ${o.ppSize}) is not supported by the simulation engine in v1; use pp_size 1`,
    );
  }
  posInt(o.tokensPerBlock, "options.tokensPerBlock");
  posInt(o.numBlocks, "options.numBlocks");
  if (!["guaranteed_no_evict", "max_utilization", "static_batch"].includes(o.capacityPolicy)) {
    throw new InvalidArgumentError("options.capacityPolicy", `must be guaranteed_no_evict, max_utilization or static_batch (got ${String(o.capacityPolicy)})`);
  }
  if (o.chunking !== null && o.chunking !== "first_come_first_served" && o.chunking !== "equal_progress") {
    throw new InvalidArgumentError("options.chunking", `must be null, first_come_first_served or equal_progress (got ${String(o.chunking)})`);
  }
  if (typeof o.enableBlockReuse !== "boolean") {
    throw new InvalidArgumentError("options.enableBlockReuse", "must be a boolean");
  }
  if (o.overlap !== undefined && typeof o.overlap !== "boolean") {
    throw new InvalidArgumentError("options.overlap", `must be a boolean (got ${String(o.overlap)})`);
  }
  validateArrivals(o.arrivals, numRequests);
}

function validateArrivals(a: Arrivals, n: number): void {
  if (a === null || typeof a !== "object") throw new InvalidArgumentError("options.arrivals", "is required");
  switch (a.kind) {
    case "all_at_once":
      return;
    case "concurrency":
      posInt(a.concurrency, "options.arrivals.concurrency");
      return;
    case "poisson":
      if (typeof a.rate !== "number" || !Number.isFinite(a.rate) || a.rate <= 0) {
        throw new InvalidArgumentError("options.arrivals.rate", `must be a finite number > 0 requests/s (got ${String(a.rate)})`);
      }
      if (typeof a.seed !== "number" || !Number.isSafeInteger(a.seed)) {
        throw new InvalidArgumentError("options.arrivals.seed", `must be an integer (got ${String(a.seed)})`);
      }
      return;
    case "trace": {
      if (a.submitMs === null || typeof a.submitMs !== "object" || a.submitMs.length !== n) {
        throw new InvalidArgumentError("options.arrivals.submitMs", `must hold one submit time per request (${n})`);
      }
      for (let i = 0; i < n; i++) {
        const v = a.submitMs[i];
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
          throw new InvalidArgumentError(`options.arrivals.submitMs[${i}]`, `must be a finite time >= 0 ms (got ${String(v)})`);
        }
      }
      return;
    }
    default:
      throw new InvalidArgumentError(
        "options.arrivals.kind",
        `must be all_at_once, concurrency, poisson or trace (got ${String((a as { kind: unknown }).kind)})`,
      );
  }
}

/** Checks request shapes (not servability: unservable requests fail individually at release). */
export function validateRequests(requests: readonly SimRequest[], field: string, tokensPerBlock: number): void {
  if (!Array.isArray(requests)) throw new InvalidArgumentError(field, "must be an array of requests");
  for (let i = 0; i < requests.length; i++) {
    const q = requests[i];
    if (q === null || typeof q !== "object") throw new InvalidArgumentError(`${field}[${i}]`, "must be a request object");
    if (typeof q.taskId !== "number" || !Number.isFinite(q.taskId)) {
      throw new InvalidArgumentError(`${field}[${i}].taskId`, `must be a number (got ${String(q.taskId)})`);
    }
    posInt(q.inputLength, `${field}[${i}].inputLength`);
    posInt(q.outputTokens, `${field}[${i}].outputTokens`);
    if (q.inputLength + q.outputTokens > MAX_INT32) {
      throw new InvalidArgumentError(`${field}[${i}]`, "inputLength + outputTokens is too large");
    }
    if (q.inputIds !== undefined && (q.inputIds === null || q.inputIds.length !== q.inputLength)) {
      throw new InvalidArgumentError(
        `${field}[${i}].inputIds`,
        `must have inputLength (${q.inputLength}) token ids (got ${q.inputIds === null ? "null" : q.inputIds.length})`,
      );
    }
    const b = q.blocks;
    if (b !== undefined && (b === null || b.tokensPerBlock !== tokensPerBlock || b.keys.length !== Math.floor(q.inputLength / tokensPerBlock))) {
      throw new InvalidArgumentError(
        `${field}[${i}].blocks`,
        `must hold floor(inputLength / tokensPerBlock) = ${Math.floor(q.inputLength / tokensPerBlock)} keys computed for tokensPerBlock ${tokensPerBlock}`,
      );
    }
  }
}
