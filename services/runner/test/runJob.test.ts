import { CancelledError } from "@servesim/core";
import type { IterationStats } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { startPredictor, type TestPredictor } from "@servesim/testkit";
import { SchedulerPolicy } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemotePredictor } from "../src/remotePredictor.js";
import { resolveJob } from "../src/resolveJob.js";
import { runResolvedJob, toJobResult } from "../src/runJob.js";
import { constant, datasetSpec, inline, jsonl, llama8bH100, spec } from "./helpers.js";

const times = (r: { tokenTimesMs: ArrayLike<number> }): number[] => Array.from(r.tokenTimesMs);

describe("runResolvedJob (constant predictor, the worked examples of docs/engine.md)", () => {
  it("worked example E2: three requests with max_batch_size 2 (docs/engine.md)", async () => {
    const job = await resolveJob(
      spec({
        engine: { maxBatchSize: 2, maxNumTokens: 8192, warmup: 0 },
        predictor: constant,
        workload: inline([
          { inputLength: 100, outputTokens: 3 },
          { inputLength: 200, outputTokens: 2 },
          { inputLength: 50, outputTokens: 2 },
        ]),
      }),
    );
    const out = await runResolvedJob(job, await createPredictor(job.predictor.config), { collectIterations: true });
    expect(out.records.map((r) => [r.ttftMs, r.e2eMs, r.tpotMs])).toEqual([
      [10, 25, 7.5],
      [10, 15, 5],
      [25, 30, 5],
    ]);
    expect(out.result.numIterations).toBe(4);
    expect(out.iterations?.map((s) => s.iterLatencyMS)).toEqual([10, 5, 10, 5]);
    expect(out.metrics.totalLatencyMs).toBe(30);
    expect(out.reportText).toContain("Max Runtime Batch Size: 2\n");
    expect(out.reportText).toContain("Total Latency (ms):                               30.0000\n");
    expect(out.reportText.split("\n")[0]).toBe(
      "[SIM] servesim simulated run — no GPU used. Predictor: constant (prefill 10 ms, decode 5 ms). Results are predictions.",
    );
    const perf = out.reportJson["performance"] as Record<string, unknown>;
    expect(perf["total_latency_ms"]).toBe(30);
    expect(Object.keys(out.reportJson)).toEqual(
      expect.arrayContaining(["engine", "world_info", "request_info", "performance", "streaming_metrics", "dataset", "sim"]),
    );
    expect(JSON.parse(out.reportJsonText)).toEqual(out.reportJson);
    expect(toJobResult(out)).toMatchObject({ numRequests: 3, numFailedRequests: 0, numIterations: 4, reportText: out.reportText });
  });

  it("worked example E4 (docs/engine.md): MAX_UTILIZATION pauses, GUARANTEED_NO_EVICT waits (kv_num_blocks 6, tokens_per_block 4, reuse off)", async () => {
    const engine = { maxBatchSize: 4, maxNumTokens: 8192, kvNumBlocks: 6, tokensPerBlock: 4, enableBlockReuse: false, warmup: 0 };
    const workload = inline([
      { inputLength: 8, outputTokens: 6 },
      { inputLength: 8, outputTokens: 6 },
    ]);
    const maxUtil = await resolveJob(
      spec({ engine: { ...engine, schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_MAX_UTILIZATION }, predictor: constant, workload }),
    );
    const a = await runResolvedJob(maxUtil, await createPredictor(maxUtil.predictor.config));
    expect(times(a.records[1]!)).toEqual([10, 15, 20, 25, 30, 45]);
    expect(a.records[1]!.pausedCount).toBe(1);
    expect(a.result.numPaused).toBe(1);
    const noEvict = await resolveJob(spec({ engine, predictor: constant, workload }));
    const b = await runResolvedJob(noEvict, await createPredictor(noEvict.predictor.config));
    expect([b.records[1]!.ttftMs, b.records[1]!.e2eMs]).toEqual([45, 70]);
  });

  it("cancels at an iteration boundary when the signal aborts", async () => {
    const job = await resolveJob(
      datasetSpec(jsonl(Array.from({ length: 50 }, () => ({ isl: 16, osl: 2000 }))), { maxBatchSize: 1, maxNumTokens: 64, warmup: 0 }, constant),
    );
    const controller = new AbortController();
    const run = runResolvedJob(job, await createPredictor(job.predictor.config), {
      signal: controller.signal,
      progressEveryMs: 0,
      onProgress: (p) => {
        if (p.iterations > 0) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
  });
});

describe("embedded and predictor-service runs give identical records", () => {
  let server: TestPredictor;
  beforeAll(async () => {
    server = await startPredictor();
  });
  afterAll(async () => {
    server.handle.forceShutdown();
    await server.handle.closed;
  });

  it("roofline Llama-3.1-8B on H100, chunked prefill, concurrency 6, warm-up 2", async () => {
    const rows = Array.from({ length: 24 }, (_, i) => ({ isl: 64 + ((i * 97) % 900), osl: 8 + ((i * 31) % 60) }));
    const job = await resolveJob(datasetSpec(jsonl(rows), { concurrency: 6, enableChunkedContext: true, maxNumTokens: 512 }, llama8bH100));
    const localIters: IterationStats[] = [];
    const local = await runResolvedJob(job, await createPredictor(job.predictor.config), { onIteration: (s) => localIters.push(s) });
    const remotePredictor = await RemotePredictor.connect({ address: `127.0.0.1:${server.port}`, config: job.predictor.config });
    let remote;
    try {
      remote = await runResolvedJob(job, remotePredictor, { collectIterations: true });
    } finally {
      await remotePredictor.close();
    }
    expect(remote.records.length).toBe(24);
    expect(remote.records.map((r) => ({ ...r, tokenTimesMs: times(r) }))).toEqual(local.records.map((r) => ({ ...r, tokenTimesMs: times(r) })));
    expect(remote.iterations).toEqual(localIters);
    expect(remotePredictor.description).toBe((await createPredictor(job.predictor.config)).description);
  });
});
