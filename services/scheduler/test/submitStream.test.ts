import { credentials } from "@grpc/grpc-js";
import { ServesimError } from "@servesim/wire";
import { PredictorKind } from "@servesim/wire/predictor";
import { DatasetFormat, type Job, type JobSpec, JobState, SchedulerServiceClient, type SubmitJobStreamRequest } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedRun, jobSpec, predictorAndScheduler, startScheduler, type TestScheduler, until } from "./harness.js";

/** A trtllm-bench dataset of `n` lines with shared prefixes (so the block keys matter). */
function datasetText(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const isl = 40 + ((i * 29) % 70);
    const ids = Array.from({ length: isl }, (_, k) => (k < 32 ? 1000 * (i % 3) + k : 50_000 + i * 300 + k));
    lines.push(JSON.stringify({ task_id: i, input_ids: ids, output_tokens: 3 + (i % 7) }));
  }
  return `${lines.join("\n")}\n`;
}

const predictor = { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 };
const engine = { maxBatchSize: 4, warmup: 0, enableBlockReuse: true, tokensPerBlock: 16 };

function streamedSpec(name = "streamed", extra: Record<string, unknown> = {}, numRequests = 0): JobSpec {
  return jobSpec({ name, engine: { ...engine, numRequests }, predictor, workload: { dataset: { name: "d.jsonl", streamed: true, ...extra } } });
}

/** The text in chunks of `size` bytes. */
function chunks(text: string, size = 1000): () => AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text);
  return async function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  };
}

async function finished(s: TestScheduler, job: Job): Promise<Job> {
  let now = job;
  await until(async () => {
    now = await s.client.getJob(job.id);
    return now.state === JobState.JOB_STATE_SUCCEEDED || now.state === JobState.JOB_STATE_FAILED;
  });
  return now;
}

async function errorOf(p: Promise<unknown>): Promise<ServesimError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServesimError) return e;
    throw e;
  }
  throw new Error("expected a ServesimError");
}

describe("SubmitJobStream: datasets streamed in chunks", () => {
  const servers = predictorAndScheduler();
  const text = datasetText(40);

  it("runs the job exactly like the same dataset sent inline (prefix reuse included)", async () => {
    const s = servers.scheduler;
    const job = await finished(s, await s.client.submitJobStream(streamedSpec(), chunks(text, 777)));
    expect(job.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const streamed = await s.client.getResult(job.id, { includeRequests: true });
    const inline = await embeddedRun(jobSpec({ name: "inline", engine, predictor, workload: { dataset: { name: "d.jsonl", jsonl: text } } }));
    expect(streamed.requests).toEqual(inline.requests);
    expect(inline.requests.reduce((a, r) => a + r.reusedTokens, 0)).toBeGreaterThan(0);
  });

  it("request_id: the same upload returns the same job; another dataset under that id is ALREADY_EXISTS", async () => {
    const s = servers.scheduler;
    // num_requests stops the reader early: the digest still covers the whole upload.
    const first = await s.client.submitJobStream(streamedSpec("dedup", {}, 5), chunks(text), { requestId: "upload-1" });
    expect(first.progress?.requestsTotal).toBe(5);
    const again = await s.client.submitJobStream(streamedSpec("dedup", {}, 5), chunks(text, 5000), { requestId: "upload-1" });
    expect(again.id).toBe(first.id);
    const other = await errorOf(s.client.submitJobStream(streamedSpec("dedup", {}, 5), chunks(datasetText(41)), { requestId: "upload-1" }));
    expect(other.codeName).toBe("ALREADY_EXISTS");
  });

  it("trace formats stream too", async () => {
    const s = servers.scheduler;
    const trace =
      '{"timestamp": 0, "input_length": 655, "output_length": 5, "hash_ids": [46, 47]}\n{"timestamp": 9, "input_length": 672, "output_length": 2, "hash_ids": [46, 47]}\n';
    const job = await s.client.submitJobStream(streamedSpec("trace", { format: DatasetFormat.DATASET_FORMAT_TRACE_JSONL }), chunks(trace, 10));
    expect(job.warnings).toContain("the dataset's timestamps are not replayed: requests arrive as --concurrency / --request-rate say (--trace replays them)");
    expect((await finished(s, job)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
  });

  it("bad datasets and misuse are INVALID_ARGUMENT naming the line or field", async () => {
    const s = servers.scheduler;
    const bad = await errorOf(s.client.submitJobStream(streamedSpec(), chunks(`${text}{"task_id": 1}\n`)));
    expect(bad.codeName).toBe("INVALID_ARGUMENT");
    expect(bad.details).toBe("d.jsonl line 41: Both prompt and input_ids for 1 are both None.");
    const notStreamed = await errorOf(s.client.submitJob(streamedSpec()));
    expect(notStreamed.details).toBe("spec.workload.dataset.streamed: a streamed dataset is sent with SubmitJobStream (its bytes follow the job)");
    const unflagged = await errorOf(s.client.submitJobStream(jobSpec({ engine, predictor, workload: { dataset: { name: "d" } } }), chunks(text)));
    expect(unflagged.details).toBe(
      "spec.workload.dataset.streamed: must be set: SubmitJobStream carries a dataset whose bytes follow the job (use SubmitJob otherwise)",
    );
  });

  it("the first message must be the job; later messages only chunks", async () => {
    const port = servers.scheduler.server.port;
    const raw = new SchedulerServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const send = (messages: SubmitJobStreamRequest[]) =>
      new Promise<string>((resolve) => {
        const call = raw.submitJobStream((err) => resolve(err?.details ?? "ok"));
        for (const m of messages) call.write(m);
        call.end();
      });
    expect(await send([{ datasetChunk: Buffer.from("x") }])).toBe(
      "messages[0].submit: the first message must carry the job (submit); the dataset's bytes follow as dataset_chunk messages",
    );
    expect(await send([{ submit: { spec: streamedSpec(), requestId: "" } }, { submit: { spec: streamedSpec(), requestId: "" } }])).toBe(
      "messages[1].submit: only the first message carries the job; the later ones carry dataset_chunk",
    );
    raw.close();
  });
});

describe("SubmitJobStream size cap", () => {
  let s: TestScheduler;
  let stopPredictor: () => Promise<void>;
  beforeAll(async () => {
    const { startPredictor } = await import("./harness.js");
    const p = await startPredictor();
    stopPredictor = () => p.kill();
    s = await startScheduler(p.address, { SERVESIM_MAX_DATASET_BYTES: "4KiB" });
  });
  afterAll(async () => {
    await s.stop();
    await stopPredictor();
  });

  it("an upload beyond SERVESIM_MAX_DATASET_BYTES is refused while it streams", async () => {
    const e = await errorOf(s.client.submitJobStream(streamedSpec(), chunks(datasetText(100))));
    expect(e.codeName).toBe("INVALID_ARGUMENT");
    expect(e.details).toBe("dataset_chunk: the dataset exceeds 4096 bytes (SERVESIM_MAX_DATASET_BYTES)");
  });
});
