import { readFileSync, appendFileSync } from "node:fs";
import { test } from "vitest";
import { validateAgainstSilicon } from "../src/validation/validate.js";
import { type P, toOptions } from "./zz_opts.js";

const csv = readFileSync("/work/shared/silicon_sample.csv", "utf8");
const log = (s: string) => { appendFileSync("/tmp/scratch/cal.log", s + "\n"); };


async function objective(pred: "roofline" | "aic", p: P): Promise<number> {
  const rep = await validateAgainstSilicon(csv, { predictors: [pred], systemsDir: "/work/shared/aic-systems", replay: { maxRequests: 1280, waves: 10, predictorOptions: toOptions(p) } });
  const j = rep.summary.tpot_mape_all[pred]! + 0.25 * rep.summary.ttft_mape[pred]!;
  log(`${pred} ${JSON.stringify(p)} tpot ${rep.summary.tpot_mape_all[pred]!.toFixed(2)} ttft ${rep.summary.ttft_mape[pred]!.toFixed(2)} J ${j.toFixed(2)} | ${rep.summary.groups.map((g) => `${g.model}:${g.tpot_mape.toFixed(1)}/${g.ttft_mape.toFixed(1)}`).join(" ")}`);
  return j;
}

test("cal", async () => {
  const pred = (process.env.PRED ?? "aic") as "roofline" | "aic";
  const start: P = JSON.parse(process.env.START ?? "{}");
  const steps: P = JSON.parse(process.env.STEPS ?? "{}");
  const bounds: Record<string, [number, number]> = JSON.parse(process.env.BOUNDS ?? "{}");
  let best = await objective(pred, start);
  const p = { ...start };
  for (let sweep = 0; sweep < Number(process.env.SWEEPS ?? 2); sweep++) {
    for (const k of Object.keys(steps)) {
      for (const dir of [1, -1]) {
        let improved = true;
        while (improved) {
          improved = false;
          const q = { ...p, [k]: +(p[k]! + dir * steps[k]!).toFixed(4) };
          const [lo, hi] = bounds[k] ?? [0, 1e9];
          if (q[k]! < lo || q[k]! > hi) break;
          const j = await objective(pred, q);
          if (j < best - 0.05) { best = j; Object.assign(p, q); improved = true; }
        }
      }
    }
    for (const k of Object.keys(steps)) steps[k]! /= 2;
  }
  log(`BEST ${pred} ${JSON.stringify(p)} J ${best.toFixed(2)}`);
}, 3_600_000);
