import type { QueueOrderDef, WaitingQueue } from "./queueOrder.js";

/** First come, first served: submission order (TensorRT-LLM's `FCFSWaitingQueue`). */
export class FcfsQueue implements WaitingQueue {
  private items: Int32Array;
  private head = 0;
  private tail = 0;

  constructor(initialCapacity: number) {
    this.items = new Int32Array(Math.max(1, initialCapacity));
  }

  get size(): number {
    return this.tail - this.head;
  }

  push(r: number): void {
    if (this.tail === this.items.length) this.makeRoom();
    this.items[this.tail++] = r;
  }

  shift(): number {
    return this.items[this.head++]!;
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
  }

  private makeRoom(): void {
    const n = this.tail - this.head;
    if (this.head >= n && this.head > 0) {
      this.items.copyWithin(0, this.head, this.tail);
    } else {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items.subarray(this.head, this.tail));
      this.items = grown;
    }
    this.head = 0;
    this.tail = n;
  }
}

export const fcfs: QueueOrderDef = {
  name: "fcfs",
  description: "first come, first served (submission order)",
  create: (_table, initialCapacity) => new FcfsQueue(initialCapacity),
};
