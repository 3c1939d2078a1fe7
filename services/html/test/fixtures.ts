import { type IterationStats, parseSlos } from "@servesim/core";
import { runSimulationSync, Simulation } from "@servesim/engine";
import { computeMetrics } from "@servesim/report";
import { ExactPredictor, options, req } from "@servesim/testkit";
import type { RunHtmlInput } from "../src/runReport.js";
import type { SweepHtmlInput } from "../src/sweepReport.js";

/** A real engine run: 600 requests of mixed lengths arriving as a Poisson process, chunked context, a small KV pool. */
export function engineRun(): RunHtmlInput {
  const requests = Array.from({ length: 600 }, (_, i) => req(i, 64 + ((i * 977) % 1900), 8 + ((i * 131) % 300)));
  const iterations: IterationStats[] = [];
  const sim = new Simulation(
    options({
      maxBatchSize: 48,
      maxNumTokens: 2048,
      chunking: "first_come_first_served",
      numBlocks: 1200,
      arrivals: { kind: "poisson", rate: 25, seed: 3 },
    }),
    requests,
    { onIteration: (s) => iterations.push(s) },
  );
  const result = runSimulationSync(sim, new ExactPredictor());
  const slos = parseSlos(["ttft:2000", "tpot@p90:40", "itl:60"]);
  const metrics = computeMetrics(result.requests, { percentiles: [50, 90, 99, 99.9], slos });
  return {
    header: {
      model: "test-model",
      system: "test-gpu",
      tp: 1,
      pp: 1,
      ep: null,
      maxBatchSize: 48,
      maxNumTokens: 2048,
      schedulingPolicy: "guaranteed_no_evict",
      predictor: "exact",
      datasetPath: null,
      simulatedMs: result.simulatedMs,
      iterations: result.numIterations,
    },
    metrics,
    records: result.requests,
    iterations,
    reportText: "report <text> & more",
  };
}

/** A sweep-shaped input: 3 TP × 8 concurrencies with a throughput/latency trade-off; one point failed. */
export function sweepInput(): SweepHtmlInput {
  const points: SweepHtmlInput["points"] = [];
  for (const tp of [1, 2, 4])
    for (const c of [1, 2, 4, 8, 16, 32, 64, 128]) {
      const perUser = ((220 / (1 + c / 40)) * (1 + tp * 0.3)) / Math.sqrt(tp);
      const perGpu = (perUser * c) / tp;
      const meets = 1000 / perUser <= 25;
      const id = String(points.length);
      const failed = tp === 4 && c === 128;
      points.push({
        id,
        label: `tp${tp} c${c}`,
        perUser: failed ? null : perUser,
        perGpu: failed ? null : perGpu,
        goodputPerGpu: failed ? null : meets ? perGpu / 300 : perGpu / 3000,
        meetsSlo: failed ? null : meets,
        row: {
          config: `tp${tp} c${c}`,
          tp,
          concurrency: c,
          output_tok_s_per_gpu: failed ? null : perGpu,
          request_goodput_per_gpu: failed ? null : meets ? perGpu / 300 : perGpu / 3000,
        },
      });
    }
  return {
    kind: "search",
    title: "search <llama> & friends",
    subtitle: "3 × 8 configurations",
    points,
    columns: [
      { key: "config", label: "config" },
      { key: "tp", label: "TP" },
      { key: "concurrency", label: "concurrency" },
      { key: "output_tok_s_per_gpu", label: "tok/s/GPU", digits: 1 },
      { key: "request_goodput_per_gpu", label: "goodput/GPU", digits: 3 },
    ],
    slos: parseSlos(["tpot:25", "itl:50", "ttft@p90:2000"]),
    winnerId: "9",
  };
}
