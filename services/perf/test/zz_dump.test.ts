import { readFileSync, writeFileSync } from "node:fs";
import { test } from "vitest";
import { validateAgainstSilicon, formatValidationTable } from "../src/validation/validate.js";
import { type P, toOptions } from "./zz_opts.js";

test("dump", async () => {
  const pred = (process.env.PRED ?? "aic") as "roofline" | "aic";
  const rep = await validateAgainstSilicon(readFileSync("/work/shared/silicon_sample.csv", "utf8"), { predictors: [pred], systemsDir: "/work/shared/aic-systems", replay: { maxRequests: Number(process.env.MAXREQ ?? 256), waves: Number(process.env.WAVES ?? 4), ...(process.env.P ? { predictorOptions: toOptions(JSON.parse(process.env.P)) } : {}) } });
  writeFileSync(process.env.OUT ?? "/tmp/scratch/dump.json", JSON.stringify(rep));
  console.log(formatValidationTable(rep));
}, 600_000);
