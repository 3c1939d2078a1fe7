import { blockKey, blockStateH1, blockStateH2, mixTokenH1, mixTokenH2 } from "@servesim/core";
import { BlockPool } from "./blockPool.js";
import { type RequestTable, ST_CONTEXT } from "./requestTable.js";

/**
 * Per-request KV-cache operations on top of the block pool (`KVCacheManager` in
 * tensorrt_llm/_torch/pyexecutor/resource_manager.py over cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp): whole-prompt
 * allocation at the first chunk with prefix matching, one slot per generation step, storing full written
 * blocks for reuse, and freeing. Requests without token ids (or with reuse off) hold anonymous blocks
 * and are handled by counts only; requests with ids ("tracked") keep a block list and a chain of block
 * keys (a hash of the whole prefix through each block, computed once per block).
 */
export class KvCacheManager {
  readonly pool: BlockPool;
  private readonly tpb: number;
  private readonly reuse: boolean;
  /** Some request takes part in prefix caching (reuse on and token ids given). */
  readonly hasTracked: boolean;
  private readonly t: RequestTable;
  /** Tracked requests: block list (node id, or -1 for an anonymous block). */
  private readonly blocks: (Int32Array | undefined)[];
  /** Tracked requests: chain keys of their full blocks, computed lazily. */
  private readonly keys: (Float64Array | undefined)[];
  private keysDone: Int32Array;
  /** Blocks contributed this scheduling pass by context requests (beneficialToSkip). */
  private readonly contributed = new Set<number>();

  /**
   * `mayTrack`: requests added to the table later may take part in prefix caching (an EngineLoop with
   * reuse on); otherwise only the table's current requests decide.
   */
  constructor(table: RequestTable, numBlocks: number, tokensPerBlock: number, reuse: boolean, mayTrack = false) {
    this.t = table;
    this.pool = new BlockPool(numBlocks);
    this.tpb = tokensPerBlock;
    this.reuse = reuse;
    let anyTracked = reuse && mayTrack;
    for (let r = 0; r < table.size && !anyTracked; r++) anyTracked = table.tracked[r] === 1;
    this.blocks = anyTracked ? new Array<Int32Array | undefined>(table.size) : [];
    this.keys = anyTracked ? new Array<Float64Array | undefined>(table.size) : [];
    this.keysDone = new Int32Array(anyTracked ? table.capacity : 0);
    this.hasTracked = anyTracked;
  }

  /** Follows the table's growth (EngineLoop). */
  tableGrew(): void {
    if (this.hasTracked && this.keysDone.length < this.t.capacity) {
      const grown = new Int32Array(this.t.capacity);
      grown.set(this.keysDone);
      this.keysDone = grown;
    }
  }

  /**
   * The blocks of a prompt whose KV arrived by transfer (disaggregated decode): fresh blocks for its P
   * tokens, no prefix matching.
   */
  addTransferred(r: number): void {
    const t = this.t;
    const total = ((t.promptLen[r]! + this.tpb - 1) / this.tpb) | 0;
    const pool = this.pool;
    const list = t.tracked[r] === 1 ? this.blocks[r] : undefined;
    for (let k = 0; k < total; k++) pool.takeFresh();
    if (list !== undefined) list.fill(-1, 0, total);
    t.held[r] = total;
    pool.allocTotalBlocks += total;
    pool.allocNewBlocks += total;
  }

  /** add_sequence for a request's first chunk. Returns the prefix-cache hit in blocks. */
  addSequence(r: number): number {
    const t = this.t;
    const tpb = this.tpb;
    const P = t.promptLen[r]!;
    const total = ((P + tpb - 1) / tpb) | 0;
    const pool = this.pool;
    let matched = 0;
    if (t.tracked[r] === 1) {
      let list = this.blocks[r];
      if (list === undefined) {
        const maxLen = t.requests[r]!.inputLength + t.outputTokens[r]! - 1;
        list = new Int32Array(((maxLen + tpb - 1) / tpb) | 0);
        this.blocks[r] = list;
      }
      // Match the first P-1 tokens, whole blocks only: the last prompt token is always recomputed.
      const matchable = ((P - 1) / tpb) | 0;
      this.ensureKeys(r, matchable);
      const keys = this.keys[r]!;
      while (matched < matchable) {
        const node = pool.lookup(keys[matched]!);
        if (node < 0) break;
        pool.claim(node);
        list[matched++] = node;
      }
      for (let k = matched; k < total; k++) {
        pool.takeFresh();
        list[k] = -1;
      }
    } else {
      for (let k = 0; k < total; k++) pool.takeFresh();
    }
    t.held[r] = total;
    pool.allocTotalBlocks += total;
    pool.allocNewBlocks += total - matched;
    if (this.reuse) {
      pool.reusedBlocks += matched;
      pool.missedBlocks += total - matched;
    }
    return matched;
  }

  /** add_token: the KV length becomes `kvLen`; a new block is taken when it crosses a block boundary. */
  addToken(r: number, kvLen: number): void {
    const t = this.t;
    const need = ((kvLen + this.tpb - 1) / this.tpb) | 0;
    // One block per step, or more when a speculative step accepted several tokens.
    for (let h = t.held[r]!; h < need; h++) {
      this.pool.takeFresh();
      if (t.tracked[r] === 1) this.blocks[r]![h] = -1;
      t.held[r] = h + 1;
      this.pool.allocTotalBlocks++;
      this.pool.allocNewBlocks++;
    }
  }

  /**
   * A decode run's allocations for one request: it now holds `held` blocks, the new ones generated
   * (anonymous). The caller takes the same number of blocks from the pool, step by step.
   */
  growGenerated(r: number, held: number): void {
    const t = this.t;
    const h = t.held[r]!;
    if (held <= h) return;
    if (t.tracked[r] === 1) this.blocks[r]!.fill(-1, h, held);
    t.held[r] = held;
  }

  /** Stores the full blocks of a just-completed prompt so later requests can match them. */
  storeContextBlocks(r: number): void {
    if (this.t.tracked[r] === 1) this.storeFull(r, (this.t.promptLen[r]! / this.tpb) | 0);
  }

  /**
   * Frees everything the request holds (finish, pause or failure). Tracked requests first store their
   * full written blocks, then release in reverse order so leaf blocks are evicted first.
   */
  release(r: number): void {
    const t = this.t;
    const h = t.held[r]!;
    if (h === 0) return;
    if (t.tracked[r] === 1) {
      this.storeFull(r, (this.writtenTokens(r) / this.tpb) | 0);
      const list = this.blocks[r]!;
      let anon = 0;
      for (let k = h - 1; k >= 0; k--) {
        const node = list[k]!;
        if (node >= 0) {
          if (anon > 0) {
            this.pool.releaseAnonymous(anon);
            anon = 0;
          }
          this.pool.releaseNode(node);
        } else {
          anon++;
        }
      }
      if (anon > 0) this.pool.releaseAnonymous(anon);
    } else {
      this.pool.releaseAnonymous(h);
    }
    t.held[r] = 0;
  }

  /** Drops the block list and keys of a request that has ended (finished or failed) and released its blocks. */
  forget(r: number): void {
    if (!this.hasTracked) return;
    this.blocks[r] = undefined;
    this.keys[r] = undefined;
    this.keysDone[r] = 0;
  }

  /** Blocks a pause of `r` would return to the pool (schedulingRemoveSequence). */
  schedulingFreedBlocks(r: number): number {
    const t = this.t;
    const h = t.held[r]!;
    if (t.tracked[r] !== 1) return h;
    const list = this.blocks[r]!;
    let freed = 0;
    for (let k = 0; k < h; k++) {
      const node = list[k]!;
      if (node < 0 || this.pool.schedulingRelease(node)) freed++;
    }
    return freed;
  }

  /** Starts beneficialToSkip bookkeeping: chunked contexts already running contribute their next block. */
  beginSkipPass(active: Int32Array, count: number): void {
    this.contributed.clear();
    const t = this.t;
    for (let i = 0; i < count; i++) {
      const r = active[i]!;
      if (t.tracked[r] === 1 && t.state[r] === ST_CONTEXT && t.held[r]! > 0) {
        const b = this.findNewContextBlock(r);
        if (b >= 0) this.contributed.add(b);
      }
    }
  }

  /**
   * beneficialToSkip (the capacity scheduler's `beneficialToSkip`, cpp/tensorrt_llm/batch_manager/capacityScheduler.cpp): a context request on its first chunk is skipped when the first block it
   * would have to compute is already being computed by an earlier request.
   */
  beneficialToSkip(r: number): boolean {
    const t = this.t;
    if (t.tracked[r] !== 1 || t.state[r] !== ST_CONTEXT || t.held[r]! > 0) return false;
    const b = this.findNewContextBlock(r);
    if (b < 0) return false;
    if (this.contributed.has(b)) return true;
    this.contributed.add(b);
    return false;
  }

  /** Tokens whose KV has been written: processed prompt tokens, or P + g' - 1 once decoding. */
  private writtenTokens(r: number): number {
    const t = this.t;
    return t.state[r] === ST_CONTEXT ? t.pos[r]! : t.promptLen[r]! + t.genSincePrompt[r]! - 1;
  }

  /** Key of the first full prompt block not in the cache, or -1 if all are cached. */
  private findNewContextBlock(r: number): number {
    const full = (this.t.promptLen[r]! / this.tpb) | 0;
    this.ensureKeys(r, full);
    const keys = this.keys[r]!;
    for (let k = 0; k < full; k++) if (this.pool.lookup(keys[k]!) < 0) return keys[k]!;
    return -1;
  }

  private storeFull(r: number, fullBlocks: number): void {
    const list = this.blocks[r]!;
    const n = Math.min(fullBlocks, this.t.held[r]!);
    this.ensureKeys(r, n);
    const keys = this.keys[r]!;
    for (let k = 0; k < n; k++) {
      if (list[k]! >= 0) continue;
      const node = this.pool.store(keys[k]!);
      if (node >= 0) list[k] = node;
    }
  }

  /**
   * Computes chain keys for blocks [0, upto). Token p of the sequence is input id p for p < P0 and, for
   * generated tokens (folded into the prompt by a pause), a value unique to the request: generated
   * blocks can only ever be matched by the same request's re-prefill. A request that carries its prompt's
   * block keys (read with the dataset) takes them as they are and continues from their tail state.
   */
  private ensureKeys(r: number, upto: number): void {
    const done = this.keysDone[r]!;
    if (done >= upto) return;
    const tpb = this.tpb;
    const q = this.t.requests[r]!;
    let keys = this.keys[r];
    if (keys === undefined) {
      const maxLen = q.inputLength + this.t.outputTokens[r]! - 1;
      keys = new Float64Array(Math.max(1, (maxLen / tpb) | 0));
      this.keys[r] = keys;
    }
    const ids = q.inputIds;
    const given = ids === undefined ? q.blocks : undefined;
    const givenFull = given === undefined ? -1 : given.keys.length;
    const p0 = q.inputLength;
    const synthetic = -1 - r;
    let parent = done === 0 ? 0 : keys[done - 1]!;
    for (let k = done; k < upto; k++) {
      if (k < givenFull) {
        parent = given!.keys[k]!;
        keys[k] = parent;
        continue;
      }
      let h1: number;
      let h2: number;
      let p = k * tpb;
      if (k === givenFull) {
        // The prompt's partial last block: its ids were hashed when the dataset was read.
        h1 = given!.tailH1;
        h2 = given!.tailH2;
        p = p0;
      } else {
        h1 = blockStateH1(parent);
        h2 = blockStateH2(parent);
      }
      for (const end = (k + 1) * tpb; p < end; p++) {
        const tok = p < p0 ? ids![p]! | 0 : synthetic;
        h1 = mixTokenH1(h1, tok);
        h2 = mixTokenH2(h2, tok);
      }
      parent = blockKey(h1, h2, tpb);
      keys[k] = parent;
    }
    this.keysDone[r] = upto;
  }
}
