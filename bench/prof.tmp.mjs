import { runSimulation, Simulation } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { computeMetrics } from "@servesim/report";
import { resolveJob } from "@servesim/runner";
import { benchSpec, SHAPES } from "./dist/cases.js";

const spec = benchSpec("A", SHAPES.A);
const job = await resolveJob(spec);
const predictor = await createPredictor(job.predictor.config);
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  const sim = new Simulation(job.engine, job.requests, job.warmup.length ? { warmup: job.warmup } : {});
  const r = await runSimulation(sim, predictor);
  const t1 = performance.now();
  const m = computeMetrics(r.requests, { worldSize: 1 });
  const t2 = performance.now();
  console.log("sim", (t1 - t0).toFixed(0), "metrics", (t2 - t1).toFixed(0), r.numIterations);
}
