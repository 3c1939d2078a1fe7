import type { BatchPredictor } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import { PredictorConfig } from "@servesim/wire/predictor";

/**
 * Predictors by configuration, kept for the points that share one (building an aic predictor reads its
 * tables). Predictors are stateless between batches, so one serves every point that asks for it.
 */
export class PredictorCache {
  private readonly byKey = new Map<string, Promise<BatchPredictor>>();
  constructor(private readonly max = 16) {}

  get(config: PredictorConfig): Promise<BatchPredictor> {
    const key = Buffer.from(PredictorConfig.encode(config).finish()).toString("base64");
    let p = this.byKey.get(key);
    if (p === undefined) {
      if (this.byKey.size >= this.max) this.byKey.delete(this.byKey.keys().next().value!);
      p = createPredictor(config);
      p.catch(() => this.byKey.delete(key));
      this.byKey.set(key, p);
    }
    return p;
  }
}
