import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import { fcfs } from "./fcfs.js";
import type { QueueOrderDef } from "./queueOrder.js";

/** Queue orders, default first. Adding one: a file exporting a QueueOrderDef, plus its line here. */
export const QUEUE_ORDERS: readonly QueueOrderDef[] = [fcfs];

export const QUEUE_ORDER_NAMES: readonly string[] = QUEUE_ORDERS.map((q) => q.name);

export const DEFAULT_QUEUE_ORDER = QUEUE_ORDERS[0]!.name;

export function queueOrder(name: unknown, field = "options.queueOrder"): QueueOrderDef {
  const def = QUEUE_ORDERS.find((q) => q.name === name);
  if (def === undefined) throw new InvalidArgumentError(field, `must be ${choiceList(QUEUE_ORDER_NAMES)} (got ${String(name)})`);
  return def;
}
