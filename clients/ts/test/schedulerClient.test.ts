import { Server, ServerCredentials, type ServiceError, status as Status } from "@grpc/grpc-js";
import { JobSpec, JobState, RampUpStrategy, type SchedulerServiceServer, SchedulerServiceService, SessionMode } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchedulerClient } from "../src/index.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("SchedulerClient.submitJob request_id", () => {
  /** request_id of every SubmitJob attempt; the first `failures` attempts of each submission fail UNAVAILABLE. */
  const attempts: string[] = [];
  let lastSpec: JobSpec | undefined;
  let failures = 0;
  let failed = 0;
  let server: Server;
  let client: SchedulerClient;

  beforeAll(async () => {
    server = new Server();
    const submitJob: SchedulerServiceServer["submitJob"] = (call, callback) => {
      attempts.push(call.request.requestId);
      lastSpec = call.request.spec;
      if (failed < failures) {
        failed += 1;
        return callback({ code: Status.UNAVAILABLE, details: "connection reset" } as ServiceError);
      }
      callback(null, {
        job: {
          id: `job-for-${call.request.requestId}`,
          name: call.request.spec?.name ?? "",
          state: JobState.JOB_STATE_QUEUED,
          error: "",
          createdAtMs: 0,
          startedAtMs: 0,
          finishedAtMs: 0,
          warnings: ["w"],
        },
      });
    };
    server.addService(SchedulerServiceService, { submitJob } as unknown as SchedulerServiceServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    client = new SchedulerClient({ address: `127.0.0.1:${port}`, retries: 4 });
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  const submit = async (fail: number, requestId?: string) => {
    attempts.length = 0;
    failures = fail;
    failed = 0;
    const job = await client.submitJob(JobSpec.fromPartial({ name: "j" }), requestId === undefined ? {} : { requestId });
    return { job, attempts: [...attempts] };
  };

  it("sends one random UUID with every retry of a submission, and a new one per submission", async () => {
    const a = await submit(2);
    expect(a.attempts).toHaveLength(3);
    expect(a.attempts[0]).toMatch(UUID);
    expect(new Set(a.attempts).size).toBe(1);
    expect(a.job).toMatchObject({ id: `job-for-${a.attempts[0]}`, warnings: ["w"] });
    const b = await submit(0);
    expect(b.attempts).toHaveLength(1);
    expect(b.attempts[0]).toMatch(UUID);
    expect(b.attempts[0]).not.toBe(a.attempts[0]);
  });

  it("carries the arrival settings (burstiness, ramp-up, trace replay, session mode) as set", async () => {
    const engine = {
      requestRate: 0,
      burstiness: Infinity,
      concurrency: 8,
      rampUp: { strategy: RampUpStrategy.RAMP_UP_STRATEGY_EXPONENTIAL, startRps: 1, endRps: 16 },
      replayTimestamps: false,
      traceSpeedup: 0,
      sessionMode: SessionMode.SESSION_MODE_INDEPENDENT,
    };
    failures = 0;
    await client.submitJob(JobSpec.fromPartial({ name: "arrivals", engine }));
    expect(lastSpec?.engine).toMatchObject(engine);
  });

  it("sends the caller's request_id as given", async () => {
    const r = await submit(1, "my-key-1");
    expect(r.attempts).toEqual(["my-key-1", "my-key-1"]);
    expect(r.job.id).toBe("job-for-my-key-1");
  });
});
