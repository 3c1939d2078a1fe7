import type { FileRegistry } from "@bufbuild/protobuf";
import type { ServerReadableStream, ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import type { ServiceRegistration } from "@servesim/server-common";
import { type Authenticator, type CallContext, CallPipeline, guardDefinition, requestErrorOf, toServiceError } from "@servesim/server-common";
import { iterationToWire, requestToWire } from "@servesim/wire";
import {
  type CancelJobRequest,
  type CancelJobResponse,
  type GetJobRequest,
  type GetJobResponse,
  type GetResultRequest,
  type GetResultResponse,
  type Job,
  type JobResult,
  JobState,
  type ListJobsRequest,
  type ListJobsResponse,
  type SchedulerServiceServer,
  SchedulerServiceService,
  type SubmitJobRequest,
  type SubmitJobResponse,
  type SubmitJobStreamRequest,
  type SubmitJobStreamResponse,
  type WatchJobRequest,
  type WatchJobResponse,
} from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import { chunkBounds } from "./chunks.js";
import { SCHEDULER_SERVICE_NAME } from "./config.js";
import { ITERATION_RECORD_BYTES, requestRecordBytes, sweepRowBytes } from "./convert.js";
import { isTerminal, SHUTDOWN_REASON } from "./jobManager.js";
import type { Jobs } from "./jobs.js";
import { StreamedDataset } from "./submissions.js";

/** WatchJob's interval between progress events when the request leaves min_interval_ms 0. */
export const DEFAULT_WATCH_INTERVAL_MS = 200;
/** GetResult's records per chunk when the request leaves chunk_size 0, and the largest accepted. */
export const DEFAULT_CHUNK_SIZE = 1000;
export const MAX_CHUNK_SIZE = 100_000;

/**
 * The dataset chunks of a SubmitJobStream: every message after the first, each a dataset_chunk. Pulled
 * one at a time, so the transport's flow control holds the client back while the dataset is read.
 */
function datasetChunks(messages: AsyncIterator<SubmitJobStreamRequest>): AsyncIterator<Uint8Array> {
  let index = 0;
  return {
    async next() {
      for (;;) {
        const r = await messages.next();
        if (r.done) return { done: true, value: undefined };
        index++;
        const wireError = requestErrorOf(r.value);
        if (wireError) throw wireError;
        if (r.value.submit !== undefined)
          throw new InvalidArgumentError(`messages[${index}].submit`, "only the first message carries the job; the later ones carry dataset_chunk");
        const chunk = r.value.datasetChunk;
        if (chunk === undefined) throw new InvalidArgumentError(`messages[${index}]`, "expected a dataset_chunk");
        if (chunk.length > 0) return { done: false, value: chunk };
      }
    },
  };
}

const KNOWN_STATES = new Set(Object.values(JobState).filter((v): v is JobState => typeof v === "number" && v >= 0));

function checkStates(states: readonly JobState[]): void {
  states.forEach((s, i) => {
    if (!KNOWN_STATES.has(s) || s === JobState.JOB_STATE_UNSPECIFIED) {
      throw new InvalidArgumentError(`states[${i}]`, `unknown job state ${String(s)}`);
    }
  });
}

/** Writes one message, waiting for the transport to drain when its buffer is full. */
async function write<T>(call: ServerWritableStream<unknown, T>, ctx: CallContext, message: T): Promise<void> {
  if (!call.write(message)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        ctx.signal.removeEventListener("abort", done);
        resolve();
      };
      call.on("drain", done);
      ctx.signal.addEventListener("abort", done);
    });
  }
  ctx.throwIfCancelled();
}

export interface SchedulerServiceOptions {
  manager: Jobs;
  logger: Logger;
  /** The proto schema: SubmitJob's and SubmitJobStream's wire bytes are checked against it (unknown fields), and bad requests of any method name their field; off when undefined. */
  registry?: FileRegistry;
  /** Who may call (default: everyone, as one shared tenant). */
  authenticator?: Authenticator;
  /** Most jobs one ListJobs answer carries. */
  maxListJobs?: number;
  /** Largest dataset one SubmitJobStream may upload (SERVESIM_MAX_DATASET_BYTES). */
  maxDatasetBytes?: number;
}

/** The default of SERVESIM_MAX_DATASET_BYTES. */
export const DEFAULT_MAX_DATASET_BYTES = 16 * 1024 ** 3;

/** servesim.v1.SchedulerService over a JobManager, ready to host with startGrpcServer. */
export function createSchedulerService(opts: SchedulerServiceOptions): ServiceRegistration {
  const { manager, logger } = opts;
  const pipeline = new CallPipeline({ logger, ...(opts.authenticator ? { authenticator: opts.authenticator } : {}) });
  const maxList = opts.maxListJobs ?? 1000;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= manager.shutdown(SHUTDOWN_REASON));

  const watchJob = pipeline.takeover("WatchJob", (call: ServerWritableStream<WatchJobRequest, WatchJobResponse>, ctx: CallContext): void => {
    const tenant = ctx.principal.tenant;
    const { id } = call.request;
    const minInterval = call.request.minIntervalMs || DEFAULT_WATCH_INTERVAL_MS;
    let timer: NodeJS.Timeout | undefined;
    let latest: Job | undefined;
    let lastSent = 0;
    let unsubscribe = () => {};
    let open = true;
    const cleanup = () => {
      open = false;
      clearTimeout(timer);
      timer = undefined;
      unsubscribe();
    };
    const send = (job: Job, result?: JobResult) => {
      if (!open) return;
      lastSent = Date.now();
      call.write({ job, result });
    };
    const finish = (job: Job, result: JobResult | undefined) => {
      send(job, result);
      cleanup();
      call.end();
    };
    ctx.signal.addEventListener("abort", cleanup);
    const watch = async () => {
      const job = await manager.get(id, tenant);
      if (isTerminal(job.state)) return finish(job, await manager.result(id, tenant));
      send(job);
      const stop = await manager.subscribe(
        id,
        (event, now, result) => {
          if (event === "final") return finish(now, result);
          if (event === "state") {
            clearTimeout(timer);
            timer = undefined;
            return send(now);
          }
          latest = now;
          if (timer) return;
          const wait = lastSent + minInterval - Date.now();
          if (wait <= 0) return send(now);
          timer = setTimeout(() => {
            timer = undefined;
            if (latest) send(latest);
          }, wait);
        },
        tenant,
      );
      if (!open) return stop();
      unsubscribe = stop;
      // The job may have finished between the first read and the subscription.
      const again = await manager.get(id, tenant);
      if (open && isTerminal(again.state)) finish(again, await manager.result(id, tenant));
    };
    watch().catch((err: unknown) => {
      cleanup();
      if (!call.cancelled) call.emit("error", toServiceError(err, ctx.logger));
    });
  });

  const getResult = pipeline.serverStream("GetResult", async (call: ServerWritableStream<GetResultRequest, GetResultResponse>, ctx: CallContext) => {
    const req = call.request;
    {
      const size = req.chunkSize || DEFAULT_CHUNK_SIZE;
      if (size > MAX_CHUNK_SIZE) throw new InvalidArgumentError("chunk_size", `must be at most ${MAX_CHUNK_SIZE} (got ${size})`);
      const { output } = await manager.output(req.id, ctx.principal.tenant);
      await write(call, ctx, { result: output.result });
      if (req.includeRequests) {
        const records = output.requests;
        for (const [a, b] of chunkBounds(records.length, size, (i) => requestRecordBytes(records[i]!))) {
          await write(call, ctx, { requests: { records: records.slice(a, b).map(requestToWire) } });
        }
      }
      if (req.includeIterations) {
        const iterations = output.iterations;
        for (const [a, b] of chunkBounds(iterations.length, size, () => ITERATION_RECORD_BYTES)) {
          await write(call, ctx, { iterations: { records: iterations.slice(a, b).map(iterationToWire) } });
        }
      }
      // A sweep's rows are its result: always sent.
      const rows = output.sweepRows ?? [];
      for (const [a, b] of chunkBounds(rows.length, size, (i) => sweepRowBytes(rows[i]!))) {
        await write(call, ctx, { sweepRows: { rows: rows.slice(a, b) } });
      }
    }
  });

  const submitJobStream = pipeline.clientStream(
    "SubmitJobStream",
    async (call: ServerReadableStream<SubmitJobStreamRequest, SubmitJobStreamResponse>, ctx: CallContext): Promise<SubmitJobStreamResponse> => {
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<SubmitJobStreamRequest>;
      const first = await messages.next();
      const firstError = first.done ? undefined : requestErrorOf(first.value);
      if (firstError) throw firstError;
      if (first.done || first.value.submit === undefined) {
        throw new InvalidArgumentError(
          "messages[0].submit",
          "the first message must carry the job (submit); the dataset's bytes follow as dataset_chunk messages",
        );
      }
      const { spec, requestId } = first.value.submit;
      if (spec?.workload?.dataset?.streamed !== true) {
        throw new InvalidArgumentError(
          "spec.workload.dataset.streamed",
          "must be set: SubmitJobStream carries a dataset whose bytes follow the job (use SubmitJob otherwise)",
        );
      }
      const dataset = new StreamedDataset(datasetChunks(messages), opts.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES);
      const job = await manager.submit(spec, requestId, dataset, ctx.principal.tenant);
      ctx.logger.debug({ job: job.id, bytes: dataset.size }, "dataset received");
      return { job };
    },
  );

  const implementation: SchedulerServiceServer = {
    submitJob: pipeline.unary("SubmitJob", async (req: SubmitJobRequest, ctx): Promise<SubmitJobResponse> => {
      // The pipeline already answered a request the guarded decoder marked.
      if (req.spec?.workload?.dataset?.streamed === true) {
        throw new InvalidArgumentError("spec.workload.dataset.streamed", "a streamed dataset is sent with SubmitJobStream (its bytes follow the job)");
      }
      return { job: await manager.submit(req.spec, req.requestId, undefined, ctx.principal.tenant) };
    }),
    submitJobStream,
    getJob: pipeline.unary("GetJob", async (req: GetJobRequest, ctx): Promise<GetJobResponse> => ({ job: await manager.get(req.id, ctx.principal.tenant) })),
    watchJob,
    cancelJob: pipeline.unary(
      "CancelJob",
      async (req: CancelJobRequest, ctx): Promise<CancelJobResponse> => ({ job: await manager.cancel(req.id, undefined, ctx.principal.tenant) }),
    ),
    listJobs: pipeline.unary("ListJobs", async (req: ListJobsRequest, ctx): Promise<ListJobsResponse> => {
      checkStates(req.states);
      return { jobs: await manager.list(req.states, ctx.principal.tenant, maxList) };
    }),
    getResult,
  };

  return {
    name: SCHEDULER_SERVICE_NAME,
    definition: guardDefinition(SchedulerServiceService, SCHEDULER_SERVICE_NAME, {
      ...(opts.registry ? { registry: opts.registry } : {}),
      strict: ["submitJob", "submitJobStream"],
    }),
    implementation: implementation as UntypedServiceImplementation,
    drain: () => void stop(),
    close: () => stop(),
  };
}
