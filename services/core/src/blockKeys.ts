/**
 * Prefix-cache block keys. The KV cache matches prompts block by block: the key of block k hashes every
 * token of blocks 0..k (a chain: each key starts from its parent's), so two requests share block k exactly
 * when their first (k + 1)·tokens_per_block tokens agree. The engine only ever compares keys for equality.
 *
 * Keys are computed while a dataset is read (one pass over the token ids, which are then dropped) or by the
 * engine from token ids; both use the functions here, so a request carries the same keys either way.
 */

/** What a request keeps of its prompt for prefix caching, for one block size. */
export interface PromptBlocks {
  /** The block size the keys were computed for; it must be the engine's tokens_per_block. */
  readonly tokensPerBlock: number;
  /** Chain key of each full prompt block: floor(inputLength / tokensPerBlock) keys. */
  readonly keys: Float64Array;
  /**
   * The hash state of the partial block after the prompt's last inputLength % tokensPerBlock tokens (the
   * start state of the next block when the prompt fills its blocks exactly). The engine continues it
   * with the request's generated tokens when a pause folds them into the prompt.
   */
  readonly tailH1: number;
  readonly tailH2: number;
}

const TWO_32 = 4294967296;

/** First half of a block's hash state, from its parent's key (0 for the first block). */
export function blockStateH1(parentKey: number): number {
  return (parentKey % TWO_32) ^ 0x2f8b5e1d;
}

/** Second half of a block's hash state, from its parent's key. */
export function blockStateH2(parentKey: number): number {
  return Math.floor(parentKey / TWO_32) ^ 0x6a09e667;
}

/** Mixes one token (an int32 view of the id) into the first half of the state. */
export function mixTokenH1(h1: number, token: number): number {
  return mix(h1, Math.imul(token, 0xcc9e2d51));
}

/** Mixes one token into the second half of the state. */
export function mixTokenH2(h2: number, token: number): number {
  return mix(h2, Math.imul(token ^ 0x5bd1e995, 0x1b873593));
}

/** The key of a finished block (a non-negative integer below 2^53, exact as a double). */
export function blockKey(h1: number, h2: number, tokensPerBlock: number): number {
  const a = fmix(h1 ^ tokensPerBlock);
  const b = fmix(h2 ^ (tokensPerBlock * 31));
  return (a >>> 0) * 2097152 + (b >>> 11);
}

function mix(h: number, k: number): number {
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Builds one prompt's block keys from its tokens, pushed one at a time (so a reader can hash ids as it
 * parses them and never store them). `finish` hands the keys out and readies the builder for the next
 * prompt; the keys live in `slabs` when given (one allocation for many prompts).
 */
export class BlockKeyBuilder {
  readonly tokensPerBlock: number;
  private scratch = new Float64Array(64);
  private count = 0;
  private inBlock = 0;
  private h1 = blockStateH1(0);
  private h2 = blockStateH2(0);
  /** Tokens pushed since the last finish. */
  tokens = 0;

  constructor(tokensPerBlock: number) {
    if (!Number.isInteger(tokensPerBlock) || tokensPerBlock < 1) throw new RangeError(`tokensPerBlock must be an integer >= 1 (got ${tokensPerBlock})`);
    this.tokensPerBlock = tokensPerBlock;
  }

  /** Appends one token id (any integer in [0, 2^32); hashed through its int32 view). */
  push(token: number): void {
    const t = token | 0;
    this.h1 = mix(this.h1, Math.imul(t, 0xcc9e2d51));
    this.h2 = mix(this.h2, Math.imul(t ^ 0x5bd1e995, 0x1b873593));
    this.tokens++;
    if (++this.inBlock === this.tokensPerBlock) this.closeBlock();
  }

  /** Appends every id of `ids`. */
  pushAll(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) this.push(ids[i]!);
  }

  /** The keys of the prompt pushed so far; the builder starts a new prompt. */
  finish(slabs?: KeySlabs): PromptBlocks {
    const n = this.count;
    const keys = slabs ? slabs.take(n) : new Float64Array(n);
    keys.set(n === this.scratch.length ? this.scratch : this.scratch.subarray(0, n));
    const out: PromptBlocks = { tokensPerBlock: this.tokensPerBlock, keys, tailH1: this.h1, tailH2: this.h2 };
    this.reset();
    return out;
  }

  /**
   * The keys of everything pushed so far, without starting over: a multi-turn session keeps pushing (the
   * turn's output, the next turn's input) and snapshots each turn's prompt. The keys are a view that stays
   * valid (a full buffer is replaced, never overwritten), so a builder that snapshots must never be reset.
   */
  snapshot(): PromptBlocks {
    return { tokensPerBlock: this.tokensPerBlock, keys: this.scratch.subarray(0, this.count), tailH1: this.h1, tailH2: this.h2 };
  }

  /** Drops the prompt pushed so far. */
  reset(): void {
    this.count = 0;
    this.inBlock = 0;
    this.tokens = 0;
    this.h1 = blockStateH1(0);
    this.h2 = blockStateH2(0);
  }

  /**
   * For readers that hash inline (with the mixing functions above, on local variables): the state of the
   * block being filled, then `store` it back. `blockState()` returns [h1, h2, tokens in the block].
   */
  blockState(): [number, number, number] {
    return [this.h1, this.h2, this.inBlock];
  }

  /** Takes back the state after `pushed` more tokens were mixed in by the caller (full blocks closed with closeFull). */
  store(h1: number, h2: number, inBlock: number, pushed: number): void {
    this.h1 = h1;
    this.h2 = h2;
    this.inBlock = inBlock;
    this.tokens += pushed;
  }

  /** Closes a block the caller filled (its final state h1, h2); returns the key, the next block's parent. */
  closeFull(h1: number, h2: number): number {
    this.h1 = h1;
    this.h2 = h2;
    this.closeBlock();
    return this.scratch[this.count - 1]!;
  }

  private closeBlock(): void {
    const key = blockKey(this.h1, this.h2, this.tokensPerBlock);
    if (this.count === this.scratch.length) {
      const grown = new Float64Array(this.scratch.length * 2);
      grown.set(this.scratch);
      this.scratch = grown;
    }
    this.scratch[this.count++] = key;
    this.inBlock = 0;
    this.h1 = blockStateH1(key);
    this.h2 = blockStateH2(key);
  }
}

/** Largest shared key buffer (16 MiB); the first ones are smaller, so a small dataset stays small. */
const SLAB_KEYS = 1 << 21;

/**
 * Hands out consecutive views of large Float64Array slabs: one allocation for many prompts instead of
 * one each (a prompt longer than a quarter slab gets its own buffer).
 */
export class KeySlabs {
  private slab = new Float64Array(0);
  private used = 0;

  take(n: number): Float64Array {
    if (n > SLAB_KEYS / 4) return new Float64Array(n);
    if (this.used + n > this.slab.length) {
      this.slab = new Float64Array(Math.min(SLAB_KEYS, Math.max(n, 4096, this.slab.length * 2)));
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }
}

/** The block keys of a prompt given as token ids. */
export function promptBlocks(ids: ArrayLike<number>, tokensPerBlock: number): PromptBlocks {
  const b = new BlockKeyBuilder(tokensPerBlock);
  b.pushAll(ids);
  return b.finish();
}
