export { type ResolvedAddress, resolveAddress } from "./address.js";
export { type DecodeRunLimits, type DecodeRunSpec, decodeDecodeRun, decodeRunBatches, decodeSimBatch } from "./batchCodec.js";
export { type ClientOptions, ClientPool, DEFAULT_DEADLINE_MS, DEFAULT_RETRIES, MAX_MESSAGE_BYTES, serviceConfig } from "./channel.js";
export { descriptorSetPath } from "./descriptorSet.js";
export { abortedError, isRetryable, ServesimError, toServesimError } from "./errors.js";
export { iterationFromWire, iterationToWire, requestFromWire, requestToWire } from "./records.js";
export { backoffMs, backoffSleep, callWithRetry } from "./retry.js";
export { sloFromWire, sloToWire } from "./slos.js";
export { encodeBatch, serializeBatchRequest } from "./wireBatch.js";
