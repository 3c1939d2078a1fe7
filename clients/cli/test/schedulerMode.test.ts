import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SchedulerClient } from "@servesim/client";
import { CancelledError } from "@servesim/core";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, type SchedulerServer, startSchedulerServer } from "@servesim/scheduler-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { JobSpec, JobState } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runThroughput } from "../src/commands/throughput.js";
import type { CliIo } from "../src/io.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);
const silent = () => createLogger({ name: "test", level: "silent" });

describe("servesim throughput --scheduler-address", () => {
  let predictor: ServerHandle;
  let scheduler: SchedulerServer;
  let address: string;
  beforeAll(async () => {
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), silent());
    const config = loadSchedulerServerConfig({
      env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` },
    });
    scheduler = await startSchedulerServer(config, silent());
    address = `127.0.0.1:${scheduler.port}`;
  });
  afterAll(async () => {
    scheduler.forceShutdown();
    predictor.forceShutdown();
    await Promise.all([scheduler.closed, predictor.closed]);
  });

  it("runs the same JobSpec as the embedded mode: identical records, report and iteration log", async () => {
    const prep = await runCli([
      "prepare-dataset",
      "token-norm-dist",
      "--num-requests",
      "30",
      "--input-mean",
      "600",
      "--input-stdev",
      "200",
      "--output-mean",
      "40",
      "--output-stdev",
      "10",
      "--seed",
      "9",
      "--output",
      file("d.jsonl"),
    ]);
    expect(prep.code).toBe(0);
    const args = [
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "-m",
      "meta-llama/Llama-3.1-8B-Instruct",
      "--gpu",
      "h100_sxm",
      "--concurrency",
      "8",
      "--warmup",
      "3",
    ];
    const outputs = (tag: string) => ["--request-json", file(`${tag}.jsonl`), "--report-json", file(`${tag}.json`), "--iteration-log", file(`${tag}.log`)];
    const embedded = await runCli([...args, ...outputs("embedded")]);
    const job = await runCli([...args, "--scheduler-address", address, ...outputs("job")]);
    expect(job.stderr).toMatch(/^submitted job \S+ to 127\.0\.0\.1:\d+\n$/);
    expect(job.code).toBe(0);
    expect(readFileSync(file("job.jsonl"), "utf8")).toBe(readFileSync(file("embedded.jsonl"), "utf8"));
    expect(readFileSync(file("job.log"), "utf8")).toBe(readFileSync(file("embedded.log"), "utf8"));
    const withoutWall = (s: string) => s.replace(/^Wall Time.*$/m, "");
    expect(withoutWall(job.stdout)).toBe(withoutWall(embedded.stdout));
    const report = (p: string) => {
      const j = JSON.parse(readFileSync(p, "utf8"));
      delete j.simulation.wall_time_ms;
      return j;
    };
    expect(report(file("job.json"))).toEqual(report(file("embedded.json")));
  });

  it("a disaggregated cluster job on the scheduler gives the embedded run's records, report and engine-named iteration log", async () => {
    writeFileSync(
      file("c.jsonl"),
      `${Array.from({ length: 24 }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: 300 + 41 * i }, (_, j) => i * 1000 + j), output_tokens: 12 + i })).join("\n")}\n`,
    );
    writeFileSync(
      file("c.yaml"),
      "context_servers:\n  num_instances: 2\n  tensor_parallel_size: 1\n  max_batch_size: 2\n  disable_overlap_scheduler: true\ngeneration_servers:\n  num_instances: 2\n  tensor_parallel_size: 2\n  max_batch_size: 8\n  router: {type: load_balancing}\n",
    );
    const args = ["throughput", "--dataset", file("c.jsonl"), "-m", "llama-3.1-8b", "--gpu", "h100_sxm", "--concurrency", "12", "--sim-config", file("c.yaml")];
    const outputs = (tag: string) => ["--request-json", file(`${tag}.jsonl`), "--report-json", file(`${tag}.json`), "--iteration-log", file(`${tag}.log`)];
    const embedded = await runCli([...args, ...outputs("ce")]);
    expect(embedded.code).toBe(0);
    const job = await runCli([...args, "--scheduler-address", address, ...outputs("cj")]);
    expect(job.code).toBe(0);
    expect(readFileSync(file("cj.jsonl"), "utf8")).toBe(readFileSync(file("ce.jsonl"), "utf8"));
    expect(readFileSync(file("cj.log"), "utf8")).toBe(readFileSync(file("ce.log"), "utf8"));
    expect(readFileSync(file("cj.log"), "utf8")).toContain("'engine': 'decode[1]'");
    const withoutWall = (s: string) => s.replace(/^Wall Time.*$/m, "");
    expect(withoutWall(job.stdout)).toBe(withoutWall(embedded.stdout));
    expect(job.stdout).toContain("Mode:                    disaggregated (2 prefill workers × 1 GPU, 2 decode workers × 2 GPUs; 6 GPUs)");
  });

  it("goodput and percentiles travel in JobSpec.report: the job's report equals the embedded one", async () => {
    writeFileSync(
      file("g.jsonl"),
      `${Array.from({ length: 40 }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: 200 + 37 * i }, (_, j) => i * 1000 + j), output_tokens: 20 + i })).join("\n")}\n`,
    );
    const args = ["throughput", "--dataset", file("g.jsonl"), "-m", "llama-3.1-8b", "--gpu", "h100_sxm", "--concurrency", "16"];
    const slo = ["--goodput", "ttft:60", "tpot@p90:8", "itl:9", "--percentiles", "50,90,99,99.9"];
    const embedded = await runCli([...args, ...slo, "--report-json", file("ge.json"), "--html", file("ge.html")]);
    const job = await runCli([...args, ...slo, "--scheduler-address", address, "--report-json", file("gj.json"), "--html", file("gj.html")]);
    expect(job.code).toBe(0);
    // The HTML report is built from what the job returns: the same page, but for the wall time.
    const html = (p: string) => readFileSync(p, "utf8").replace(/Wall Time \(ms\): +[\d.]+/, "");
    expect(html(file("gj.html")) === html(file("ge.html"))).toBe(true);
    const withoutWall = (s: string) => s.replace(/^Wall Time.*$/m, "");
    expect(withoutWall(job.stdout)).toBe(withoutWall(embedded.stdout));
    expect(embedded.stdout).toMatch(/\nP99\.9 +\d/);
    expect(embedded.stdout).toContain("-- Goodput (SLO: ttft <= 60 ms, tpot p90 <= 8 ms, itl <= 9 ms)\n");
    const sim = (p: string) => JSON.parse(readFileSync(p, "utf8")).sim;
    expect(sim(file("gj.json")).goodput).toEqual(sim(file("ge.json")).goodput);
    const g = sim(file("ge.json")).goodput;
    expect(g.total_requests).toBe(40);
    expect(g.good_requests).toBeGreaterThan(0);
    expect(g.good_requests).toBeLessThan(40);
    expect(Object.keys(sim(file("ge.json")).latency_percentiles_ms.itl)).toEqual(["p50", "p90", "p99", "p99.9", "average", "minimum", "maximum"]);
  });

  it("a sweep runs as one job group: the same rows as the local sweep, points counted in the job's progress", async () => {
    writeFileSync(
      file("sw.yaml"),
      "name: group\nmodel: llama-3.1-8b\ngpu: h100_sxm\nenable_chunked_context: true\nworkload:\n  synthetic: {num_requests: 40, isl: 200, osl: 20}\ngoodput: ttft@p90:200\ngrid:\n  tp: [1, 2]\n  concurrency: [4, 16]\npoints:\n  - {max_num_tokens: 64, enable_chunked_context: false}\n",
    );
    const local = await runCli(["sweep", "--space", file("sw.yaml"), "-o", file("swl"), "--workers", "1", "-q"]);
    expect(local.code).toBe(0);
    const job = await runCli(["sweep", "--space", file("sw.yaml"), "-o", file("swj"), "--scheduler-address", address]);
    expect(job.stderr).toMatch(/submitted sweep job \S+ \(5 points\) to /);
    expect(job.code).toBe(0);
    const rows = (d: string) =>
      readFileSync(join(d, "results.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => {
          const r = JSON.parse(l);
          r.metrics.wall_ms = 0;
          return r;
        });
    expect(rows(file("swj"))).toEqual(rows(file("swl")));
    expect(rows(file("swj"))[4].status).toBe("failed");
    const client = new SchedulerClient({ address });
    try {
      const done = (await client.listJobs()).find((j) => j.name === "group")!;
      expect(done.progress).toMatchObject({ pointsFinished: 5, pointsTotal: 5 });
      const out = await client.getResult(done.id);
      expect(out.sweepRows.map((r) => r.ok)).toEqual([true, true, true, true, false]);
      expect(out.result.reportText).toMatch(/^\[SIM\] servesim sweep: 5 points, 4 ran, 1 failed\./);
    } finally {
      client.close();
    }
  });

  it("a sweep job with an unknown setting fails at submission naming the point", async () => {
    const client = new SchedulerClient({ address });
    try {
      const spec = JobSpec.fromPartial({
        name: "bad sweep",
        workload: { inline: { requests: [{ taskId: 0, inputLength: 8, outputTokens: 2 }] } },
        sweep: {
          points: [
            { id: "a", label: "", settings: { tp: "1" } },
            { id: "b", label: "", settings: { tpp: "2" } },
          ],
        },
      });
      await expect(client.submitJob(spec)).rejects.toMatchObject({
        code: 3,
        details: expect.stringMatching(/^spec\.sweep\.points\[1\]\.settings: unknown setting "tpp"/),
      });
    } finally {
      client.close();
    }
  });

  it("an invalid job fails at submission with the field and exit code 2", async () => {
    writeFileSync(file("bad.jsonl"), '{"task_id":0,"input_ids":[1,2],"output_tokens":2}\n{"task_id":1,"output_tokens":3}\n');
    const r = await runCli(["throughput", "--dataset", file("bad.jsonl"), "-m", "llama-3.1-8b", "--predictor", "constant", "--scheduler-address", address]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: INVALID_ARGUMENT: ${file("bad.jsonl")} line 2: Both prompt and input_ids for 1 are both None.\n`);
  });

  it("aborting (Ctrl-C) cancels the job on the scheduler", async () => {
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ task_id: i, input_ids: [i + 1, i + 2], output_tokens: 4000 }));
    writeFileSync(file("long.jsonl"), `${lines.join("\n")}\n`);
    const controller = new AbortController();
    let jobId = "";
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          const m = /^submitted job (\S+)/.exec(s);
          if (m) {
            jobId = m[1]!;
            setTimeout(() => controller.abort(new Error("interrupted")), 300);
          }
          return true;
        },
      },
    };
    const flags = {
      dataset: file("long.jsonl"),
      model: "llama-3.1-8b",
      gpu: "h100_sxm",
      concurrency: 1,
      schedulerAddress: address,
      iterationLogFormat: "repr",
    };
    await expect(runThroughput(flags, io, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    const client = new SchedulerClient({ address });
    try {
      const job = await client.getJob(jobId);
      expect(job.state).toBe(JobState.JOB_STATE_CANCELLED);
    } finally {
      client.close();
    }
  });

  it("an unreachable scheduler exits 1", async () => {
    writeFileSync(file("ok.jsonl"), '{"task_id":0,"input_ids":[1,2],"output_tokens":2}\n');
    const r = await runCli([
      "throughput",
      "--dataset",
      file("ok.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--scheduler-address",
      "127.0.0.1:1",
    ]);
    expect(r.code).toBe(1);
    // One clear line instead of grpc-js's "UNAVAILABLE: round_robin: No connection established. Last error: ...".
    expect(r.stderr).toBe("error: cannot reach the scheduler at 127.0.0.1:1 (connection refused); is `servesim serve scheduler` running there?\n");
  });

  it("servesim jobs follows every ListJobs page: one job per page lists what one big page lists, in order; --state filters", async () => {
    const client = new SchedulerClient({ address, retries: 0 });
    try {
      const all = await client.listJobs();
      expect(all.length).toBeGreaterThan(2);
      const paged = await runCli(["jobs", "--scheduler-address", address, "--page-size", "1", "--json"]);
      expect(paged.code).toBe(0);
      expect(
        paged.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).id),
      ).toEqual(all.map((j) => j.id));
      const succeeded = all.filter((j) => j.state === JobState.JOB_STATE_SUCCEEDED).map((j) => j.id);
      const table = await runCli(["jobs", "--scheduler-address", address, "--state", "succeeded", "--page-size", "2"]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^ID\s+STATE\s+REQUESTS\s+CREATED\s+NAME$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(succeeded);
      expect((await runCli(["jobs", "--scheduler-address", address, "--state", "done"])).code).toBe(2);
    } finally {
      client.close();
    }
  });
});
