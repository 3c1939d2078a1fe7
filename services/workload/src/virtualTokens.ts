/**
 * Stand-in token ids for prompts a dataset describes without their ids, so their prefix-cache block keys
 * can be computed like those of real ids:
 *
 * - a trace's hash_ids block (AIPerf / Mooncake): the same id always stands for the same content, so
 *   token j of hash block h is a function of (h, j) alone — requests listing the same leading hash ids
 *   share those tokens, and nothing else;
 * - content that is unique to one request (a trace line without hash_ids, the un-hashed tail of a prompt,
 *   a CSV row): a function of (the request's ordinal in the file, position);
 * - a session turn's output, which the next turn carries in its history: a function of (the turn's
 *   ordinal, position).
 *
 * Each kind has its own salt, so the three never produce the same sequence.
 */

const HASH_BLOCK_SALT = 0x1b56c4e9;
const UNIQUE_SALT = 0x7f4a7c15;
const OUTPUT_SALT = 0x2545f491;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A 32-bit seed from a non-negative integer below 2^53 (both halves count) and a salt. */
function seedOf(id: number, salt: number): number {
  const lo = id >>> 0;
  const hi = Math.floor(id / 4294967296) >>> 0;
  return fmix(fmix(lo ^ salt) ^ Math.imul(hi + 1, 0x9e3779b1));
}

/** The seed of a hash_ids block (ids may be any integer up to 2^53 in magnitude). */
export function hashBlockSeed(hashId: number): number {
  return hashId < 0 ? seedOf(-hashId, ~HASH_BLOCK_SALT) : seedOf(hashId, HASH_BLOCK_SALT);
}

/** The seed of content unique to the request at `ordinal` (0-based, in file order). */
export function uniqueSeed(ordinal: number): number {
  return seedOf(ordinal, UNIQUE_SALT);
}

/** The seed of the output of the request at `ordinal`. */
export function outputSeed(ordinal: number): number {
  return seedOf(ordinal, OUTPUT_SALT);
}

/** Token `position` (0-based) of the content a seed stands for. */
export function virtualToken(seed: number, position: number): number {
  return fmix(seed ^ Math.imul(position + 1, 0x27d4eb2f));
}
