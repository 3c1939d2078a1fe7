import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { ServesimError } from "@servesim/client";
import { PredictorKind } from "@servesim/wire/predictor";
import { Distribution, EngineConfig, JobSpec, type SchedulerPolicy, SubmitJobRequest } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineWorkload, jobSpec, type SpecParts, smallJob, startScheduler, type TestScheduler } from "./harness.js";

const constant = { kind: PredictorKind.PREDICTOR_KIND_CONSTANT };

/** JSONL lines of `n` requests with `isl` token ids and `osl` output tokens. */
const jsonl = (n: number, isl = 8, osl = 4) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: isl }, (_, j) => j + i), output_tokens: osl }));

describe("SubmitJob rejects bad input with INVALID_ARGUMENT naming the field (nothing is queued)", () => {
  let scheduler: TestScheduler;
  let raw: Client;

  beforeAll(async () => {
    // Validation happens before any predictor call: the address is never dialled.
    scheduler = await startScheduler("127.0.0.1:1", { SERVESIM_MAX_JOB_REQUESTS: "8", SERVESIM_MAX_JOB_TOKENS: "2000" });
    raw = new Client(`127.0.0.1:${scheduler.server.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    raw?.close();
    await scheduler?.stop();
  });

  async function rejected(spec: JobSpec | undefined): Promise<ServesimError> {
    try {
      await scheduler.client.submitJob(spec as JobSpec);
    } catch (err) {
      expect(err).toBeInstanceOf(ServesimError);
      return err as ServesimError;
    }
    throw new Error("SubmitJob succeeded");
  }

  /** Sends hand-made SubmitJobRequest bytes (what a client built from another proto could send). */
  function submitBytes(bytes: Uint8Array): Promise<ServiceError> {
    return new Promise((resolve, reject) =>
      raw.makeUnaryRequest(
        "/servesim.v1.SchedulerService/SubmitJob",
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        bytes,
        new Metadata(),
        {},
        (err) => (err ? resolve(err) : reject(new Error("SubmitJob succeeded"))),
      ),
    );
  }

  const cases: Array<[string, SpecParts, string, RegExp]> = [
    ["no workload", { predictor: constant }, "spec.workload", /required/],
    [
      "two workload sources",
      { predictor: constant, workload: { ...inlineWorkload([{ input: 4, output: 2 }]), dataset: { jsonl: jsonl(1).join("\n"), name: "d" } } },
      "spec.workload",
      /exactly one/,
    ],
    [
      "input_length 0",
      {
        predictor: constant,
        workload: inlineWorkload([
          { input: 4, output: 2 },
          { input: 0, output: 2 },
        ]),
      },
      "spec.workload.inline.requests[1].input_length",
      />= 1/,
    ],
    [
      "output_tokens 0 (inline)",
      {
        predictor: constant,
        workload: inlineWorkload([
          { input: 4, output: 2 },
          { input: 4, output: 0 },
        ]),
      },
      "spec.workload.inline.requests[1].output_tokens",
      />= 1/,
    ],
    [
      "output_tokens < 1 (dataset)",
      {
        predictor: constant,
        workload: { dataset: { jsonl: [...jsonl(2), '{"task_id": 2, "input_ids": [1, 2], "output_tokens": 0}'].join("\n"), name: "bad.jsonl" } },
      },
      "bad.jsonl line 3",
      /output_tokens must be >= 1/,
    ],
    [
      "negative output_tokens (dataset)",
      { predictor: constant, workload: { dataset: { jsonl: ['{"task_id": 0, "input_ids": [1], "output_tokens": -4}'].join("\n"), name: "neg.jsonl" } } },
      "neg.jsonl line 1",
      /output_tokens must be >= 1 \(got -4\)/,
    ],
    [
      "a dataset line that is not JSON",
      { predictor: constant, workload: { dataset: { jsonl: [jsonl(1)[0], "{oops"].join("\n"), name: "broken.jsonl" } } },
      "broken.jsonl line 2",
      /invalid JSON/,
    ],
    [
      "a dataset line without token ids",
      { predictor: constant, workload: { dataset: { jsonl: [jsonl(1)[0], "", '{"task_id": 5, "output_tokens": 3}'].join("\n"), name: "ids.jsonl" } } },
      "ids.jsonl line 3",
      /input_ids/,
    ],
    ["an empty dataset", { predictor: constant, workload: { dataset: { jsonl: "\n\n", name: "empty.jsonl" } } }, "empty.jsonl", /empty/],
    ["an empty inline workload", { predictor: constant, workload: { inline: { requests: [] } } }, "spec.workload.inline.requests", /empty/],
    [
      "too many inline requests",
      { predictor: constant, workload: inlineWorkload(Array.from({ length: 9 }, () => ({ input: 4, output: 2 }))) },
      "spec.workload.inline.requests",
      /9 requests exceed the limit of 8/,
    ],
    [
      "too many dataset requests",
      { predictor: constant, workload: { dataset: { jsonl: jsonl(9).join("\n"), name: "big.jsonl" } } },
      "big.jsonl line 9",
      /more than 8 requests/,
    ],
    [
      "too many tokens",
      {
        predictor: constant,
        workload: inlineWorkload([
          { input: 1500, output: 400 },
          { input: 100, output: 10 },
        ]),
      },
      "spec.workload.inline.requests",
      /exceed the limit of 2000/,
    ],
    [
      "too many synthetic requests",
      {
        predictor: constant,
        workload: {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_UNIF_DIST,
            numRequests: 20,
            inputMin: 4,
            inputMax: 8,
            outputMin: 2,
            outputMax: 4,
          } as never,
        },
      },
      "spec.workload.synthetic.num_requests",
      /20 requests exceed the limit of 8/,
    ],
    [
      "max_num_tokens below the longest prompt without chunking",
      {
        engine: { maxNumTokens: 64 },
        predictor: constant,
        workload: inlineWorkload([
          { input: 32, output: 2 },
          { input: 100, output: 2 },
        ]),
      },
      "spec.engine.max_num_tokens",
      /smaller than the longest prompt \(100 tokens\)/,
    ],
    [
      "batch_wait_max_tokens_ratio above 1",
      { engine: { batchWaitTimeoutIters: 4, batchWaitMaxTokensRatio: 1.5 }, predictor: constant, workload: inlineWorkload([{ input: 4, output: 2 }]) },
      "spec.engine.batch_wait_max_tokens_ratio",
      /must be a number in \[0, 1\] \(got 1.5\)/,
    ],
    [
      "batch_wait_max_tokens_ratio NaN",
      { engine: { batchWaitMaxTokensRatio: Number.NaN }, predictor: constant, workload: inlineWorkload([{ input: 4, output: 2 }]) },
      "spec.engine.batch_wait_max_tokens_ratio",
      /must be a number in \[0, 1\] \(got NaN\)/,
    ],
    [
      "batch_wait_timeout_iters above 2^31 - 1",
      { engine: { batchWaitTimeoutIters: 4294967295 }, predictor: constant, workload: inlineWorkload([{ input: 4, output: 2 }]) },
      "spec.engine.batch_wait_timeout_iters",
      /must be an integer in \[0, 2147483647\] \(got 4294967295\)/,
    ],
    [
      "pipeline parallelism with a concurrency ceiling over a rate",
      {
        engine: { requestRate: 10, concurrency: 2 },
        predictor: { ...constant, parallelism: { tp: 2, pp: 2, ep: 1, attentionDp: true } },
        workload: inlineWorkload([{ input: 4, output: 2 }]),
      },
      "spec.engine.concurrency",
      /pipeline parallelism runs open-loop arrivals or a concurrency limit/,
    ],
  ];

  for (const [what, parts, field, reason] of cases) {
    it(what, async () => {
      const err = await rejected(jobSpec(parts));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.codeName).toBe("INVALID_ARGUMENT");
      expect(err.field).toBe(field);
      expect(err.details).toMatch(reason);
    });
  }

  it("a missing spec", async () => {
    const err = await rejected(undefined);
    expect(err).toMatchObject({ codeName: "INVALID_ARGUMENT", field: "spec" });
  });

  it("an unknown field, found in the wire bytes (the generated decoder would drop it)", async () => {
    const spec = smallJob(2);
    const engine = new BinaryWriter().raw(EngineConfig.encode(spec.engine!).finish()).tag(99, WireType.Varint).uint32(1).finish();
    const bytes = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(
        new BinaryWriter()
          .raw(JobSpec.encode({ ...spec, engine: undefined }).finish())
          .tag(2, WireType.LengthDelimited)
          .bytes(engine)
          .finish(),
      )
      .finish();
    const err = await submitBytes(bytes);
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^spec\.engine: unknown field number 99 \(varint\) in servesim\.v1\.EngineConfig/);

    const top = await submitBytes(
      new BinaryWriter()
        .raw(SubmitJobRequest.encode(SubmitJobRequest.fromPartial({ spec })).finish())
        .tag(7, WireType.LengthDelimited)
        .string("x")
        .finish(),
    );
    expect(top.details).toMatch(/^SubmitJobRequest: unknown field number 7/);
  });

  it("a negative input length, sent as a negative varint in a uint32 field", async () => {
    const request = new BinaryWriter().tag(1, WireType.Varint).int64(0).tag(2, WireType.Varint).int32(-5).tag(3, WireType.Varint).uint32(4).finish();
    const workload = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(request).finish())
      .finish();
    const spec = new BinaryWriter()
      .raw(JobSpec.encode(jobSpec({ predictor: constant })).finish())
      .tag(4, WireType.LengthDelimited)
      .bytes(workload)
      .finish();
    const err = await submitBytes(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(spec).finish());
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.details).toBe("spec.workload.inline.requests[0].input_length: must be >= 0 (got -5)");
  });

  it("an unknown enum value", async () => {
    const err = await rejected(smallJob(2, "x", { schedulerPolicy: 42 as SchedulerPolicy }));
    expect(err.field).toBe("spec.engine.scheduler_policy");
    expect(err.details).toMatch(/unknown SchedulerPolicy value 42/);
  });

  it("no rejected spec became a job", async () => {
    expect(await scheduler.client.listJobs()).toEqual([]);
  });
});
