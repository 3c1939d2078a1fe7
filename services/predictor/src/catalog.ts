import { InvalidArgumentError } from "@servesim/core";
import { PREDICTORS } from "@servesim/perf";
import type { PredictorKind } from "@servesim/wire/predictor";
import type { PredictorBuilder } from "./predictorCache.js";

/**
 * The registry's predictor kinds this replica's builder implements (the default builder implements all
 * of them; a replica started with another builder may narrow them). A kind is available unless building it
 * is rejected on `config.kind` itself (an empty config failing on another field, e.g. a missing model,
 * still proves the kind exists).
 */
export async function availableKinds(build: PredictorBuilder): Promise<PredictorKind[]> {
  const kinds: PredictorKind[] = [];
  for (const { kind } of PREDICTORS) {
    try {
      const p = await build({ kind, deviceName: "", databasePath: "", backendVersion: "", weightDtype: 0, kvCacheDtype: 0, ctxAttention: "" });
      await p.close?.();
      kinds.push(kind);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError && err.field === "config.kind")) kinds.push(kind);
    }
  }
  return kinds;
}
