import type { BatchPredictor } from "@servesim/core";
import { PredictorConfig } from "@servesim/wire/predictor";
import { LRUCache } from "lru-cache";

export type PredictorBuilder = (config: PredictorConfig) => Promise<BatchPredictor>;

/** A stable key of a configuration: its canonical proto JSON (default-valued fields omitted). */
export function configKey(config: PredictorConfig): string {
  return JSON.stringify(PredictorConfig.toJSON(config));
}

/**
 * Built predictors keyed by configuration, least recently used evicted, so streams and repeated unary
 * calls do not rebuild (an AIC predictor loads its tables once). Concurrent requests for the same
 * configuration share one build; a failed build is not cached.
 */
export class PredictorCache {
  private readonly entries: LRUCache<string, Promise<BatchPredictor>>;

  constructor(
    capacity: number,
    private readonly build: PredictorBuilder,
  ) {
    // An evicted predictor is not closed: an open stream may still use it; it is garbage once none holds it.
    this.entries = new LRUCache({ max: capacity });
  }

  get size(): number {
    return this.entries.size;
  }

  get(config: PredictorConfig): Promise<BatchPredictor> {
    const key = configKey(config);
    const hit = this.entries.get(key);
    if (hit) return hit;
    const built = this.build(config);
    this.entries.set(key, built);
    built.catch(() => {
      if (this.entries.peek(key) === built) this.entries.delete(key);
    });
    return built;
  }

  /** Closes the cached predictors; call once no call uses them any more. */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (pred) => pred.close?.(),
          () => undefined,
        ),
      ),
    );
  }
}
