import { test } from "vitest";
import { PredictorKind } from "../../../gen/ts/servesim/v1/predictor.js";
import { makeBatch } from "../../engine/src/simBatch.js";
import { type LocalPredictor, createPredictor } from "../src/factory.js";
import { config } from "./helpers.js";

test("scratch", async () => {
  for (const [model, dev, tp, wd] of [["llama-3.1-70b", "h200_sxm", 4, 3], ["llama-3.1-70b", "h200_sxm", 4, 1], ["llama-3.1-8b", "h100_sxm", 8, 1], ["llama-3.1-8b", "h100_sxm", 1, 1]] as const) {
    const p = (await createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_AIC, model: { name: model }, deviceName: dev, databasePath: "/work/shared/aic-systems", backendVersion: "1.2.0rc5", parallelism: { tp, pp: 1, ep: 1 }, weightDtype: wd, kvCacheDtype: wd }))) as LocalPredictor;
    const b = makeBatch(Array.from({ length: 4 }, () => ({ context: false, inputLength: 1, pastKvLength: 1500 })));
    console.log(p.description, p.predict(b).toFixed(3), p.breakdown(b).map((o) => `${o.op}:${o.ms.toFixed(3)}:${o.source}`).join(" "));
  }
});
