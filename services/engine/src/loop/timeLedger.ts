/**
 * The iteration clock. Every time stamp the engine keeps (token emissions, concurrency submissions) is
 * an iteration index; the ledger maps index i to the simulated time at which iteration i ended. Times
 * may arrive after the iterations were committed (deferred times, Simulation) or at once (EngineLoop).
 */
export class TimeLedger {
  /** End time of iteration i, for i < timed. */
  iterEnd = new Float64Array(1024);
  /** Requests that received a token (a response) in iteration i, for i < iterations. */
  responses = new Int32Array(1024);
  /** Iterations committed (timed or not). */
  iterations = 0;
  /** Iterations whose end time is known; the clock is iterEnd[timed - 1] unless the engine idled since. */
  timed = 0;
  /** End of the last timed iteration, or the time the engine idled until. */
  clock = 0;
  /** Start of the last timed iteration. */
  lastStartMs = 0;

  /** Makes room for iteration indices up to `last`. */
  reserve(last: number): void {
    if (last < this.iterEnd.length) return;
    let size = this.iterEnd.length * 2;
    while (size <= last) size *= 2;
    const grown = new Float64Array(size);
    grown.set(this.iterEnd);
    this.iterEnd = grown;
    const responses = new Int32Array(size);
    responses.set(this.responses);
    this.responses = responses;
  }

  /** The oldest untimed iteration took `ms`; returns its index. */
  supply(ms: number): number {
    const i = this.timed;
    this.lastStartMs = this.clock;
    const clock = this.clock + ms;
    this.clock = clock;
    this.iterEnd[i] = clock;
    this.timed = i + 1;
    return i;
  }

  /** Committed iterations whose time is still to come. */
  get untimed(): number {
    return this.iterations - this.timed;
  }

  /** A new phase on a fresh clock (Simulation's measured run after the warm-up). */
  restart(): void {
    this.clock = 0;
    this.timed = 0;
    this.iterations = 0;
  }
}
