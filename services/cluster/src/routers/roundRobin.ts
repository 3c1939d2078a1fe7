import type { RouterEntry } from "./router.js";

/** Every instance in turn (TensorRT-LLM's default `round_robin` router). */
export const roundRobin: RouterEntry = {
  name: "round_robin",
  aliases: [],
  description: "each arrival to the next instance in turn",
  weights: {},
  create() {
    let next = 0;
    return {
      name: "round_robin",
      route(_req, targets) {
        const i = next % targets.length;
        next = i + 1;
        return i;
      },
    };
  },
};
