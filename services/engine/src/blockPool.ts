import { KeyIndex } from "./keyIndex.js";

/**
 * The paged KV block pool of one GPU rank (`BlockManager` in cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp, LRU free queue of evictionPolicy.cpp), as pure bookkeeping.
 *
 * Like TensorRT-LLM's LRU eviction policy, every free block sits in ONE queue in release order: a fresh
 * block is always taken from the front, released blocks go to the back. A free block may still hold a
 * cached prefix (it is keyed in the radix tree); taking it evicts that entry. Blocks that were never
 * keyed are interchangeable, so the queue stores them as counts between the keyed entries
 * (`anonBefore[node]` anonymous blocks precede node `node`, `tailAnon` follow the last one): every
 * operation is O(1) and a run without block reuse never touches the node arrays.
 *
 * A "node" is a keyed block: its chain key (prefix hash through this block), a reference count (requests
 * holding it) and, when free, its place in the queue. Nodes are only created for requests that carry
 * token ids with block reuse enabled.
 */
export class BlockPool {
  readonly numBlocks: number;
  /** Distinct blocks held by requests. */
  private used = 0;
  /** Free keyed blocks (cached prefixes, evictable). */
  private cachedFree = 0;
  private tailAnon: number;
  private head = -1;
  private tail = -1;

  private capacity = 0;
  private nodeKey = new Float64Array(0);
  private nodeRef = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private anonBefore = new Int32Array(0);
  private schedStamp = new Int32Array(0);
  private schedRef = new Int32Array(0);
  private freeIds = new Int32Array(0);
  private freeIdsTop = 0;
  private nodesCreated = 0;
  private stamp = 0;
  private readonly byKey = new KeyIndex();

  /** Cached prefixes evicted by takeFresh since the pool was built (never reset). */
  evictions = 0;

  /** Cumulative counters (TensorRT-LLM KvCacheStats semantics), reset by resetStats(). */
  allocTotalBlocks = 0;
  allocNewBlocks = 0;
  reusedBlocks = 0;
  missedBlocks = 0;

  constructor(numBlocks: number) {
    this.numBlocks = numBlocks;
    this.tailAnon = numBlocks;
  }

  get freeBlocks(): number {
    return this.numBlocks - this.used;
  }

  get usedBlocks(): number {
    return this.used;
  }

  /** Free blocks that still hold a cached prefix. */
  get cachedFreeBlocks(): number {
    return this.cachedFree;
  }

  /** Fresh blocks that can be taken before the first cached prefix at the front of the queue is evicted. */
  get anonymousAtFront(): number {
    return this.head === -1 ? this.tailAnon : this.anonBefore[this.head]!;
  }

  resetStats(): void {
    this.allocTotalBlocks = 0;
    this.allocNewBlocks = 0;
    this.reusedBlocks = 0;
    this.missedBlocks = 0;
  }

  /** Takes the block at the front of the free queue (evicting its cached prefix if it has one). */
  takeFresh(): void {
    if (this.used >= this.numBlocks) {
      throw new Error(`KV block pool exhausted (${this.numBlocks} blocks): scheduler accounting violated`);
    }
    const h = this.head;
    if (h === -1) {
      this.tailAnon--;
    } else if (this.anonBefore[h]! > 0) {
      this.anonBefore[h]!--;
    } else {
      this.unlink(h);
      this.cachedFree--;
      this.evictions++;
      const key = this.nodeKey[h]!;
      if (this.byKey.get(key) === h) this.byKey.delete(key);
      this.freeIds[this.freeIdsTop++] = h;
    }
    this.used++;
  }

  /** Returns `count` never-keyed blocks to the back of the free queue. */
  releaseAnonymous(count: number): void {
    this.tailAnon += count;
    this.used -= count;
  }

  /** The node cached under `key`, or -1. */
  lookup(key: number): number {
    return this.byKey.get(key);
  }

  /** A request starts holding a cached block (a prefix hit): a free one leaves the free queue. */
  claim(node: number): void {
    if (this.nodeRef[node] === 0) {
      this.unlink(node);
      this.cachedFree--;
      this.used++;
    }
    this.nodeRef[node]!++;
  }

  /**
   * Keys a block the caller already holds (an anonymous block it took with takeFresh) under `key`.
   * Returns the new node, or -1 when the key is already cached (the block then stays anonymous).
   */
  store(key: number): number {
    if (this.byKey.get(key) >= 0) return -1;
    const node = this.newNode();
    this.nodeKey[node] = key;
    this.nodeRef[node] = 1;
    this.byKey.set(key, node);
    return node;
  }

  /** A holder drops a keyed block; the last one sends it to the back of the free queue (still cached). */
  releaseNode(node: number): void {
    if (--this.nodeRef[node]! > 0) return;
    this.anonBefore[node] = this.tailAnon;
    this.tailAnon = 0;
    this.prev[node] = this.tail;
    this.next[node] = -1;
    if (this.tail === -1) this.head = node;
    else this.next[this.tail] = node;
    this.tail = node;
    this.cachedFree++;
    this.used--;
  }

  /** Starts a scheduling pass: scheduling reference counts restart from the real ones. */
  beginSchedulingPass(): void {
    this.stamp++;
  }

  /** Drops one scheduling reference (MAX_UTILIZATION's schedulingRemoveSequence); true if none remain. */
  schedulingRelease(node: number): boolean {
    if (this.schedStamp[node] !== this.stamp) {
      this.schedStamp[node] = this.stamp;
      this.schedRef[node] = this.nodeRef[node]!;
    }
    return --this.schedRef[node]! === 0;
  }

  private unlink(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    const carry = this.anonBefore[node]!;
    if (n === -1) {
      this.tailAnon += carry;
      this.tail = p;
    } else {
      this.anonBefore[n]! += carry;
      this.prev[n] = p;
    }
    if (p === -1) this.head = n;
    else this.next[p] = n;
  }

  private newNode(): number {
    if (this.freeIdsTop > 0) return this.freeIds[--this.freeIdsTop]!;
    if (this.nodesCreated === this.capacity) this.grow();
    return this.nodesCreated++;
  }

  private grow(): void {
    // Keyed blocks are distinct physical blocks, so numBlocks nodes always suffice.
    const cap = Math.min(this.numBlocks, Math.max(256, this.capacity * 2));
    if (cap <= this.capacity) throw new Error("more cached blocks than the pool holds: bookkeeping bug");
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.nodeKey = f64(this.nodeKey);
    this.nodeRef = i32(this.nodeRef);
    this.prev = i32(this.prev);
    this.next = i32(this.next);
    this.anonBefore = i32(this.anonBefore);
    this.schedStamp = i32(this.schedStamp);
    this.schedRef = i32(this.schedRef);
    this.freeIds = i32(this.freeIds);
    this.capacity = cap;
  }
}
