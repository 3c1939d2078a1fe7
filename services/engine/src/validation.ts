import { InvalidArgumentError } from "@servesim/core";
import { validateArrivals } from "./arrivals/registry.js";
import { capacityPolicy } from "./capacity/registry.js";
import { choiceList } from "./choices.js";
import { chunkingPolicy } from "./chunking/registry.js";
import { timingName } from "./engineConfig.js";
import { validateFrontEnd } from "./frontEnd.js";
import { DEFAULT_ENGINE_PROFILE, engineProfile } from "./profiles/registry.js";
import { queueOrder } from "./queue/registry.js";
import { timingStrategy } from "./timing/registry.js";
import type { EngineOptions, EngineSettings, SimRequest } from "./types.js";

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;
export const MAX_INT32 = 2147483647;

function posInt(v: unknown, field: string): void {
  if (!isPosInt(v) || v > MAX_INT32) throw new InvalidArgumentError(field, `must be an integer in [1, ${MAX_INT32}] (got ${String(v)})`);
}

function supported(name: string, names: readonly string[], profile: string, field: string, what: string): void {
  if (!names.includes(name)) {
    throw new InvalidArgumentError(field, `the ${profile} engine profile has no ${what} ${name} (it has ${choiceList(names)})`);
  }
}

/** Checks one engine's settings; throws InvalidArgumentError naming the offending field. */
export function validateSettings(o: EngineSettings, f = "options"): void {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError(f, "engine options are required");
  posInt(o.maxBatchSize, `${f}.maxBatchSize`);
  posInt(o.maxNumTokens, `${f}.maxNumTokens`);
  posInt(o.maxSeqLen, `${f}.maxSeqLen`);
  posInt(o.ppSize, `${f}.ppSize`);
  if (o.ppSize > 1) {
    throw new InvalidArgumentError(`${f}.ppSize`, `pipeline parallelism (pp_size ${o.ppSize}) is not supported by the simulation engine in v1; use pp_size 1`);
  }
  posInt(o.tokensPerBlock, `${f}.tokensPerBlock`);
  posInt(o.numBlocks, `${f}.numBlocks`);
  const profile = engineProfile(o.profile ?? DEFAULT_ENGINE_PROFILE, `${f}.profile`);
  const policy = capacityPolicy(o.capacityPolicy, `${f}.capacityPolicy`);
  supported(policy.name, profile.capacityPolicies, profile.name, `${f}.capacityPolicy`, "capacity policy");
  const chunking = chunkingPolicy(o.chunking, `${f}.chunking`);
  if (chunking !== null) supported(chunking.name, profile.chunkingPolicies, profile.name, `${f}.chunking`, "chunking policy");
  if (typeof o.enableBlockReuse !== "boolean") {
    throw new InvalidArgumentError(`${f}.enableBlockReuse`, "must be a boolean");
  }
  if (o.overlap !== undefined && typeof o.overlap !== "boolean") {
    throw new InvalidArgumentError(`${f}.overlap`, `must be a boolean (got ${String(o.overlap)})`);
  }
  if (o.timing !== undefined) {
    const timing = timingStrategy(o.timing, `${f}.timing`);
    supported(timing.name, profile.timingStrategies, profile.name, `${f}.timing`, "timing strategy");
    if (o.overlap !== undefined && o.overlap !== (timing.name === "overlap")) {
      throw new InvalidArgumentError(`${f}.overlap`, `contradicts timing ${timing.name}: set one of them`);
    }
  } else {
    supported(timingName(o, profile), profile.timingStrategies, profile.name, `${f}.overlap`, "timing strategy");
  }
  if (o.frontEnd !== undefined) validateFrontEnd(o.frontEnd, `${f}.frontEnd`);
  if (o.batchWait !== undefined) {
    const b = o.batchWait;
    if (b === null || typeof b !== "object") throw new InvalidArgumentError(`${f}.batchWait`, "must be an object");
    if (typeof b.timeoutIters !== "number" || !Number.isInteger(b.timeoutIters) || b.timeoutIters < 0 || b.timeoutIters > MAX_INT32) {
      throw new InvalidArgumentError(`${f}.batchWait.timeoutIters`, `must be an integer in [0, ${MAX_INT32}] (got ${String(b.timeoutIters)})`);
    }
    if (typeof b.maxTokensRatio !== "number" || !(b.maxTokensRatio >= 0 && b.maxTokensRatio <= 1)) {
      throw new InvalidArgumentError(`${f}.batchWait.maxTokensRatio`, `must be a number in [0, 1] (got ${String(b.maxTokensRatio)})`);
    }
  }
  if (o.attentionDpBalance !== undefined) {
    const b = o.attentionDpBalance;
    if (b === null || typeof b !== "object") throw new InvalidArgumentError(`${f}.attentionDpBalance`, "must be an object");
    for (const k of ["timeoutIters", "batchingWaitIters"] as const) {
      const v = b[k];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_INT32) {
        throw new InvalidArgumentError(`${f}.attentionDpBalance.${k}`, `must be an integer in [0, ${MAX_INT32}] (got ${String(v)})`);
      }
    }
  }
  if (o.queueOrder !== undefined) {
    supported(queueOrder(o.queueOrder, `${f}.queueOrder`).name, profile.queueOrders, profile.name, `${f}.queueOrder`, "queue order");
  }
}

/** Checks the options of a whole run for `numRequests` measured requests. */
export function validateOptions(o: EngineOptions, numRequests: number): void {
  validateSettings(o);
  validateArrivals(o.arrivals, numRequests);
}

/** Checks one request's shape (not servability: an unservable request fails on its own at release). */
export function validateRequest(q: SimRequest, field: string, tokensPerBlock: number): void {
  if (q === null || typeof q !== "object") throw new InvalidArgumentError(field, "must be a request object");
  if (typeof q.taskId !== "number" || !Number.isFinite(q.taskId)) {
    throw new InvalidArgumentError(`${field}.taskId`, `must be a number (got ${String(q.taskId)})`);
  }
  posInt(q.inputLength, `${field}.inputLength`);
  posInt(q.outputTokens, `${field}.outputTokens`);
  if (q.inputLength + q.outputTokens > MAX_INT32) {
    throw new InvalidArgumentError(field, "inputLength + outputTokens is too large");
  }
  if (q.inputIds !== undefined && (q.inputIds === null || q.inputIds.length !== q.inputLength)) {
    throw new InvalidArgumentError(
      `${field}.inputIds`,
      `must have inputLength (${q.inputLength}) token ids (got ${q.inputIds === null ? "null" : q.inputIds.length})`,
    );
  }
  const b = q.blocks;
  if (b !== undefined && (b === null || b.tokensPerBlock !== tokensPerBlock || b.keys.length !== Math.floor(q.inputLength / tokensPerBlock))) {
    throw new InvalidArgumentError(
      `${field}.blocks`,
      `must hold floor(inputLength / tokensPerBlock) = ${Math.floor(q.inputLength / tokensPerBlock)} keys computed for tokensPerBlock ${tokensPerBlock}`,
    );
  }
}

/** Checks request shapes. */
export function validateRequests(requests: readonly SimRequest[], field: string, tokensPerBlock: number): void {
  if (!Array.isArray(requests)) throw new InvalidArgumentError(field, "must be an array of requests");
  for (let i = 0; i < requests.length; i++) validateRequest(requests[i]!, `${field}[${i}]`, tokensPerBlock);
}
