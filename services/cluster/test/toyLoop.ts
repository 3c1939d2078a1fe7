import type { SimBatch, SimRequest } from "@servesim/core";
import type { EngineLoop, LoopEvents, LoopLoad, RequestDoneEvent, SubmitOptions } from "@servesim/engine";

interface Slot {
  handle: number;
  req: SimRequest;
  submitMs: number;
  kvReady: boolean;
  prefilled: boolean;
  tokens: number[];
}

/**
 * A minimal engine loop for cluster tests: FCFS, up to `maxBatch` active requests, a prompt takes one
 * iteration (which emits the first token), then one token per iteration; every iteration lasts what the
 * caller commits. KV: one block per `tpb` tokens of the whole sequence, reserved at admission.
 */
export class ToyLoop implements EngineLoop {
  private readonly waiting: Slot[] = [];
  private active: Slot[] = [];
  private next = 0;
  private lastEnd = 0;
  private scheduled: Slot[] | null = null;
  private startMs = 0;
  private readonly batch = { numContext: 0, numGeneration: 0, numContextTokens: 0, inputLength: [] as number[], pastKvLength: [] as number[] };
  private readonly events: LoopEvents = { startMs: 0, endMs: 0, firstTokens: [], done: [], iteration: null };

  constructor(
    private readonly maxBatch: number,
    private readonly kvBlocks: number,
    private readonly tpb = 16,
  ) {}

  private blocks(s: Slot): number {
    return Math.ceil((s.req.inputLength + s.req.outputTokens) / this.tpb);
  }

  submit(req: SimRequest, tMs: number, opts?: SubmitOptions): number {
    const h = this.next++;
    this.waiting.push({ handle: h, req, submitMs: tMs, kvReady: opts?.kvReady === true, prefilled: opts?.kvReady === true, tokens: [] });
    return h;
  }

  nextEventTime(): number {
    if (this.active.length > 0) return this.lastEnd;
    if (this.waiting.length > 0) return Math.max(this.lastEnd, this.waiting[0]!.submitMs);
    return Number.POSITIVE_INFINITY;
  }

  schedule(tMs: number): SimBatch | null {
    let used = this.active.reduce((s, a) => s + this.blocks(a), 0);
    while (
      this.waiting.length > 0 &&
      this.active.length < this.maxBatch &&
      this.waiting[0]!.submitMs <= tMs &&
      used + this.blocks(this.waiting[0]!) <= this.kvBlocks
    ) {
      const s = this.waiting.shift()!;
      used += this.blocks(s);
      this.active.push(s);
    }
    if (this.active.length === 0) return null;
    const ctx = this.active.filter((s) => !s.prefilled);
    const gen = this.active.filter((s) => s.prefilled);
    this.scheduled = [...ctx, ...gen];
    const b = this.batch;
    b.numContext = ctx.length;
    b.numGeneration = gen.length;
    b.numContextTokens = ctx.reduce((s, c) => s + c.req.inputLength, 0);
    b.inputLength = this.scheduled.map((s) => (s.prefilled ? 1 : s.req.inputLength));
    b.pastKvLength = this.scheduled.map((s) => (s.prefilled ? s.req.inputLength + s.tokens.length : 0));
    this.startMs = tMs;
    return b;
  }

  commit(deviceMs: number): LoopEvents {
    const end = this.startMs + deviceMs;
    const ev = this.events;
    ev.startMs = this.startMs;
    ev.endMs = end;
    ev.firstTokens = [];
    ev.done = [];
    for (const s of this.scheduled!) {
      if (!s.prefilled) {
        s.prefilled = true;
        ev.firstTokens.push({ handle: s.handle, timeMs: end });
      }
      s.tokens.push(end);
      const produced = s.tokens.length + (s.kvReady ? 1 : 0);
      if (produced >= s.req.outputTokens) {
        const d: RequestDoneEvent = {
          handle: s.handle,
          request: s.req,
          submitMs: s.submitMs,
          endMs: end,
          tokenTimesMs: Float64Array.from(s.tokens),
          pausedCount: 0,
          reusedTokens: 0,
        };
        ev.done.push(d);
      }
    }
    const doneHandles = new Set(ev.done.map((d) => d.handle));
    this.active = this.active.filter((s) => !doneHandles.has(s.handle));
    this.lastEnd = end;
    this.scheduled = null;
    return ev;
  }

  takeEnded(): RequestDoneEvent[] {
    return [];
  }

  load(): LoopLoad {
    return {
      queued: this.waiting.length,
      active: this.active.length,
      kvUsedBlocks: this.active.reduce((s, a) => s + this.blocks(a), 0),
      kvTotalBlocks: this.kvBlocks,
    };
  }
}
