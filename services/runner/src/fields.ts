import { InvalidArgumentError } from "@servesim/core";

/** camelCase → snake_case, per dotted segment ("inputMean" → "input_mean"). */
export const snakeCase = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Runs `fn`, re-labelling the field of any InvalidArgumentError it throws with `rename` so errors from
 * the libraries (which name their own parameters) carry the job spec's proto field path.
 */
export function withFieldPath<T>(rename: (field: string) => string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(rename(e.field), e.reason);
    throw e;
  }
}

/** Renames "config.x.y" (services/perf) to "<prefix>.x.y"; other fields are put under the prefix. */
export const underPredictor =
  (prefix: string) =>
  (field: string): string =>
    field.startsWith("config.") ? `${prefix}.${field.slice("config.".length)}` : field === "config" ? prefix : `${prefix}.${snakeCase(field)}`;

/** Puts a library parameter name ("numRequests") under a proto message path, in snake_case. */
export const underMessage =
  (prefix: string) =>
  (field: string): string =>
    `${prefix}.${snakeCase(field)}`;
