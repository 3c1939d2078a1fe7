import { InvalidArgumentError } from "@servesim/core";
import type { PredictorKind } from "@servesim/wire/predictor";
import { aicEntry } from "./aic.js";
import { calibratedEntry } from "./calibrated.js";
import { constantEntry } from "./constant.js";
import type { PredictorEntry } from "./entry.js";

export { predictorInfo } from "./entry.js";

import { rooflineEntry } from "./roofline.js";

/**
 * Every predictor kind servesim has, in catalog order. The one list: the factory, DescribePredictor,
 * ListCatalog, the runner, the CLI's --predictor choices and the docs' tables derive from it, and tests
 * check the proto enum, the Python client and the docs against it.
 */
export const PREDICTORS: readonly PredictorEntry[] = [constantEntry, rooflineEntry, aicEntry, calibratedEntry];

const BY_KIND = new Map<number, PredictorEntry>(PREDICTORS.map((e) => [e.kind, e]));
const BY_NAME = new Map<string, PredictorEntry>(PREDICTORS.flatMap((e) => [e.name, ...e.aliases].map((n) => [n.toLowerCase(), e] as const)));

/** "a, b, c or d". */
const orList = (items: readonly string[]): string => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`);

/** The kind names as a sentence: "constant, roofline, aic or calibrated". */
export function predictorNameList(): string {
  return orList(PREDICTORS.map((e) => e.name));
}

/** The kind names with their aliases: "constant, roofline, aic (aiconfigurator) or calibrated". */
export function predictorChoiceList(): string {
  return orList(PREDICTORS.map((e) => (e.aliases.length > 0 ? `${e.name} (${e.aliases.join(", ")})` : e.name)));
}

/** The entry of a proto kind, or undefined (UNSPECIFIED, unknown numbers). */
export function predictorEntryOf(kind: PredictorKind): PredictorEntry | undefined {
  return BY_KIND.get(kind);
}

/** The entry of a proto kind; INVALID_ARGUMENT on `field` when it names none. */
export function requirePredictorEntry(kind: PredictorKind, field = "config.kind"): PredictorEntry {
  const entry = BY_KIND.get(kind);
  if (entry) return entry;
  if (kind === 0) throw new InvalidArgumentError(field, `predictor kind is required (${predictorNameList()})`);
  throw new InvalidArgumentError(field, `unknown predictor kind ${String(kind)} (${predictorNameList()})`);
}

/** The entry a user spelling names (a kind name or an alias, case-insensitive), or undefined. */
export function predictorByName(name: string): PredictorEntry | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}
