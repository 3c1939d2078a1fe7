import { InvalidArgumentError } from "@servesim/core";
import { type DeepPartial, DType, PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { expect } from "vitest";

/** A PredictorConfig with defaults for everything not given. */
export type ConfigPartial = DeepPartial<PredictorConfig>;

export function config(partial: ConfigPartial): PredictorConfig {
  return PredictorConfig.fromPartial({ kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, ...partial } as PredictorConfig);
}

/** Roofline pricing of Llama-3.1-8B on one H100 SXM, fp8 weights and KV cache. */
export const rooflineLlama8bH100Fp8 = (): PredictorConfig =>
  PredictorConfig.fromPartial({
    kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
    model: { name: "llama-3.1-8b" },
    gpu: { name: "h100_sxm" },
    parallelism: { tp: 1, pp: 1, ep: 1 },
    weightDtype: DType.D_TYPE_FP8,
    kvCacheDtype: DType.D_TYPE_FP8,
  });

/** Asserts that fn throws an InvalidArgumentError for `field` whose reason matches `reason`. */
export function expectInvalid(fn: () => unknown, field: string, reason?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  const e = caught as InvalidArgumentError;
  expect(e.field).toBe(field);
  if (reason) expect(e.reason).toMatch(reason);
}

export async function expectInvalidAsync(fn: () => Promise<unknown>, field: string, reason?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  const e = caught as InvalidArgumentError;
  expect(e.field).toBe(field);
  if (reason) expect(e.reason).toMatch(reason);
}
