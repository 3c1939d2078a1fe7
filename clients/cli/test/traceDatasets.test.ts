import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, type SchedulerServer, startSchedulerServer } from "@servesim/scheduler-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);
const silent = () => createLogger({ name: "test", level: "silent" });

// AIPerf's trace-replay example (two requests share 640 tokens of prefix with the first).
writeFileSync(
  file("mooncake.jsonl"),
  [
    '{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}',
    '{"timestamp": 10535, "input_length": 672, "output_length": 26, "hash_ids": [46, 47]}',
    '{"timestamp": 27482, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}',
  ].join("\n"),
);
writeFileSync(
  file("azure.csv"),
  "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:16:00,60,3\n",
);
writeFileSync(file("custom.csv"), 'when,"prompt, tokens",completion\n0,120,7\n2.5,80,"9"\n');
writeFileSync(file("unknown.csv"), "a,b,c\n1,2,3\n");
// Two sessions with think times (AIPerf's multi-turn trace lines).
writeFileSync(
  file("sessions.jsonl"),
  [
    '{"session_id":"a","timestamp":0,"input_length":100,"output_length":20,"hash_ids":[1]}',
    '{"session_id":"b","timestamp":50,"input_length":200,"output_length":10}',
    '{"session_id":"a","delay":1000,"input_length":30,"output_length":5}',
    '{"session_id":"b","delay":500,"input_length":40,"output_length":5}',
    '{"session_id":"a","delay":200,"input_length":10,"output_length":5}',
  ].join("\n"),
);

const common = ["-m", "llama-3.1-8b", "--gpu", "h100_sxm", "--concurrency", "1", "--warmup", "0", "--quiet"];

describe("servesim throughput on traces", () => {
  let predictor: ServerHandle;
  let scheduler: SchedulerServer;
  let address: string;
  beforeAll(async () => {
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), silent());
    scheduler = await startSchedulerServer(
      loadSchedulerServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` } }),
      silent(),
    );
    address = `127.0.0.1:${scheduler.port}`;
  });
  afterAll(async () => {
    scheduler.forceShutdown();
    predictor.forceShutdown();
    await Promise.all([scheduler.closed, predictor.closed]);
  });

  it("a Mooncake trace (format detected): shared hash_ids blocks are prefix-cache hits; the scheduler gives the same records", async () => {
    const records: string[] = [];
    for (const mode of [[], ["--scheduler-address", address]]) {
      const tag = mode.length === 0 ? "embedded" : "scheduler";
      const r = await runCli(["throughput", "--dataset", file("mooncake.jsonl"), ...common, "--request-json", file(`mc-${tag}.jsonl`), ...mode]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      records.push(readFileSync(file(`mc-${tag}.jsonl`), "utf8"));
    }
    expect(records[1]).toBe(records[0]);
    const rows = records[0]!
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { input_length: number; output_length: number; reused_tokens: number });
    expect(rows.map((q) => [q.input_length, q.output_length, q.reused_tokens])).toEqual([
      [655, 52, 0],
      [672, 26, 640],
      [655, 52, 640],
    ]);
  });

  it("--trace replays the timestamps; sessions run in a closed loop (think time after the previous turn); the scheduler agrees", async () => {
    const rows: string[] = [];
    for (const mode of [[], ["--scheduler-address", address]]) {
      const out = file(`sess-${mode.length}.jsonl`);
      const r = await runCli([
        "throughput",
        "--dataset",
        file("sessions.jsonl"),
        "-m",
        "llama-3.1-8b",
        "--predictor",
        "constant",
        "--warmup",
        "0",
        "-q",
        "--trace",
        "--request-json",
        out,
        ...mode,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      rows.push(readFileSync(out, "utf8"));
    }
    expect(rows[1]).toBe(rows[0]);
    const recs = rows[0]!
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { input_length: number; start_ms: number; end_ms: number });
    // Constant predictor: 10 ms with a prefill, 5 ms decode-only. Session a starts at 0, b at 50 (joining
    // a's batch at 50); a's turn 2 is sent 1000 ms after turn 1 ended (110), b's 500 ms after 105, a's
    // turn 3 200 ms after 1140. Each turn's prompt carries the session's history.
    expect(recs.map((q) => [q.input_length, q.start_ms, q.end_ms])).toEqual([
      [100, 0, 110],
      [200, 50, 105],
      [150, 1110, 1140],
      [250, 605, 635],
      [165, 1340, 1370],
    ]);
    const reportJson = file("sess-report.json");
    await runCli([
      "throughput",
      "--dataset",
      file("sessions.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--warmup",
      "0",
      "-q",
      "--trace",
      "--report-json",
      reportJson,
    ]);
    expect((JSON.parse(readFileSync(reportJson, "utf8")) as { sim: { arrivals: string } }).sim.arrivals).toBe(
      "2 multi-turn sessions in a closed loop; session starts: trace replay",
    );
    // Twice as fast, one session at a time: b starts when a's last turn ends.
    const fast = await runCli([
      "throughput",
      "--dataset",
      file("sessions.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--warmup",
      "0",
      "-q",
      "--trace",
      "--trace-speedup",
      "2",
      "--max-concurrency",
      "1",
      "--request-json",
      file("sess-fast.jsonl"),
    ]);
    expect(fast.code).toBe(0);
    const starts = readFileSync(file("sess-fast.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { start_ms: number }).start_ms);
    expect(starts).toEqual([0, 1365, 1105, 1920, 1335]);
  });

  it("warns that timestamps are not replayed", async () => {
    const r = await runCli(["throughput", "--dataset", file("azure.csv"), "-m", "llama-3.1-8b", "--gpu", "h100_sxm", "--warmup", "0"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: the dataset's timestamps are not replayed");
    expect(r.stdout).toMatch(/Number of requests:\s+3\n/);
  });

  it("any CSV through --csv-columns", async () => {
    const r = await runCli([
      "throughput",
      "--dataset",
      file("custom.csv"),
      ...common,
      "--csv-columns",
      "timestamp=when,input=prompt, tokens,output=completion",
      "--request-json",
      file("custom.jsonl"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --csv-columns: expected key=column pairs separated by commas (got "tokens")\n');
    writeFileSync(file("custom2.csv"), "when,prompt_tokens,completion\n0,120,7\n2.5,80,9\n");
    const ok = await runCli([
      "throughput",
      "--dataset",
      file("custom2.csv"),
      ...common,
      "--csv-columns",
      "timestamp=when,input=prompt_tokens,output=completion",
      "--request-json",
      file("c2.jsonl"),
    ]);
    expect(ok.code).toBe(0);
    expect(
      readFileSync(file("c2.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { input_length: number }).input_length),
    ).toEqual([120, 80]);
  });

  it("a CSV of no known layout asks for --csv-columns; errors name the file and line", async () => {
    const r = await runCli(["throughput", "--dataset", file("unknown.csv"), ...common]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: --dataset ${file("unknown.csv")}: a CSV file of no known trace layout: give --csv-columns (e.g. timestamp=ts,input=prompt_tokens,output=completion_tokens)\n`,
    );
    writeFileSync(file("bad.jsonl"), '{"input_length": 10, "output_length": 1}\n{"input_length": 10}\n');
    for (const [mode, prefix] of [
      [[], ""],
      [["--scheduler-address", address], "INVALID_ARGUMENT: "],
    ] as const) {
      const bad = await runCli(["throughput", "--dataset", file("bad.jsonl"), ...common, ...mode]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe(`error: ${prefix}${file("bad.jsonl")} line 2: missing output_length\n`);
    }
  });
});
