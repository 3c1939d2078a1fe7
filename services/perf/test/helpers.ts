import { type DeepPartial, PredictorConfig, PredictorKind } from "../../../gen/ts/servesim/v1/predictor.js";
import { InvalidArgumentError } from "../../common/src/errors.js";
import { expect } from "vitest";

/** A PredictorConfig with defaults for everything not given. */
export type ConfigPartial = DeepPartial<PredictorConfig>;

export function config(partial: ConfigPartial): PredictorConfig {
  return PredictorConfig.fromPartial({ kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, ...partial } as PredictorConfig);
}

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
