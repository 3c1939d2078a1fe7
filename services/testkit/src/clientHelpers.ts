/** Predictor configs and batches for the client tests; the servers come from the predictor's test support. */
import { makeBatch, type SimBatch } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { constantConfig } from "./testPredictor.js";

export const rooflineConfig = (): PredictorConfig => ({
  ...constantConfig(),
  kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
  model: { name: "llama-3.1-8b" },
  gpu: { name: "h100_sxm" },
});

/** A mix of batches: prefill only, mixed, decode only, and one large enough to go out packed. */
export function sampleBatches(): SimBatch[] {
  const decode = (n: number, past: number) => Array.from({ length: n }, (_, i) => ({ context: false, inputLength: 1, pastKvLength: past + i }));
  return [
    makeBatch([{ context: true, inputLength: 128, pastKvLength: 0 }]),
    makeBatch([{ context: true, inputLength: 64, pastKvLength: 32 }, ...decode(3, 100)]),
    makeBatch(decode(4, 200)),
    makeBatch([{ context: true, inputLength: 1, pastKvLength: 511 }, ...decode(40, 300)]),
  ];
}

/** What the local predictor says about the same batches. */
export async function localTimes(config: PredictorConfig, batches: SimBatch[]): Promise<number[]> {
  const p = await createPredictor(config);
  const out: number[] = [];
  for (const b of batches) out.push(await p.predict(b));
  return out;
}
