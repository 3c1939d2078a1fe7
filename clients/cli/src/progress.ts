import { createRequire } from "node:module";
import type cliProgress from "cli-progress";
import type { CliIo } from "./io.js";

/** What the bar shows (the engine's SimulationProgress or a WatchJob JobProgress). */
export interface ProgressSnapshot {
  requestsFinished: number;
  requestsTotal: number;
  iterations: number;
  simTimeMs: number;
  warmingUp?: boolean;
}

// cli-progress is loaded when a bar is first shown: most runs (short, quiet or not on a terminal) show none.
const loadPackage = createRequire(import.meta.url);

/** Runs shorter than this never show a bar. */
const SHOW_AFTER_MS = 1000;

/**
 * A cli-progress bar on stderr, shown only when stderr is a terminal, --quiet is off and the run has
 * lasted a second; cleared when the run ends.
 */
export class ProgressDisplay {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(
    private readonly io: CliIo,
    quiet: boolean,
    private readonly label = "simulating",
    private readonly format = "{phase} |{bar}| {percentage}% | {value}/{total} requests | {iterations} iterations | {simSeconds} s simulated",
  ) {
    this.enabled = !quiet && io.stderr.isTTY === true;
  }

  update(p: ProgressSnapshot): void {
    if (!this.enabled) return;
    const payload = {
      phase: p.warmingUp ? "warming up" : this.label,
      iterations: p.iterations,
      simSeconds: (p.simTimeMs / 1000).toFixed(2),
    };
    if (!this.bar) {
      if (Date.now() - this.started < SHOW_AFTER_MS) return;
      const bars = loadPackage("cli-progress") as typeof cliProgress;
      this.bar = new bars.SingleBar(
        {
          stream: this.io.stderr as NodeJS.WritableStream,
          format: this.format,
          hideCursor: true,
          clearOnComplete: true,
          fps: 5,
        },
        bars.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, p.requestsTotal), p.requestsFinished, payload);
      return;
    }
    this.bar.setTotal(Math.max(1, p.requestsTotal));
    this.bar.update(p.requestsFinished, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
