import type { BatchPredictor } from "@servesim/core";

/**
 * Bounds the predictions a cluster job has outstanding: at most `jobLimit` in all, and at most a
 * predictor's own `maxInFlight` on each predictor (a pool's instances share one stream, which refuses
 * more). Waiters are served in arrival order.
 */
export class PricingGate {
  private readonly held = new Map<BatchPredictor, number>();
  private total = 0;
  private readonly waiting: { p: BatchPredictor; go: () => void }[] = [];
  /** Most predictions outstanding at once over the run. */
  peak = 0;

  constructor(private readonly jobLimit: number) {}

  private fits(p: BatchPredictor): boolean {
    return this.total < this.jobLimit && (this.held.get(p) ?? 0) < Math.max(1, p.maxInFlight ?? 1);
  }

  private take(p: BatchPredictor): void {
    this.total++;
    this.held.set(p, (this.held.get(p) ?? 0) + 1);
    if (this.total > this.peak) this.peak = this.total;
  }

  /** Resolves (or returns at once) when `p` may take one more prediction. */
  acquire(p: BatchPredictor): void | Promise<void> {
    if (this.waiting.length === 0 && this.fits(p)) {
      this.take(p);
      return;
    }
    return new Promise<void>((go) => this.waiting.push({ p, go }));
  }

  release(p: BatchPredictor): void {
    this.total--;
    this.held.set(p, (this.held.get(p) ?? 0) - 1);
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.p)) {
      const w = this.waiting.shift()!;
      this.take(w.p);
      w.go();
    }
  }
}
