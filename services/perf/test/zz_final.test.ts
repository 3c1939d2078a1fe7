import { readFileSync, writeFileSync } from "node:fs";
import { test } from "vitest";
import { formatValidationTable, validateAgainstSilicon } from "../src/validation/validate.js";

test("final", async () => {
  const t0 = performance.now();
  const rep = await validateAgainstSilicon(readFileSync("/work/shared/silicon_sample.csv", "utf8"), { predictors: ["roofline", "aic"], systemsDir: "/work/shared/aic-systems" });
  writeFileSync("/tmp/scratch/final.json", JSON.stringify(rep, null, 1));
  console.log(formatValidationTable(rep));
  console.log("took", ((performance.now() - t0) / 1000).toFixed(1), "s");
}, 900_000);
