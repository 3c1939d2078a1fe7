import type { FileRegistry } from "@bufbuild/protobuf";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { type Authenticator, CallPipeline, guardDefinition, type ServiceRegistration } from "@servesim/server-common";
import { type SchedulerServiceServer, SchedulerServiceService } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import { SCHEDULER_SERVICE_NAME } from "./config.js";
import { cancelJob } from "./handlers/cancelJob.js";
import type { SchedulerDeps } from "./handlers/deps.js";
import { getJob } from "./handlers/getJob.js";
import { getResult } from "./handlers/getResult.js";
import { listJobs } from "./handlers/listJobs.js";
import { submitJob } from "./handlers/submitJob.js";
import { submitJobStream } from "./handlers/submitJobStream.js";
import { watchJob } from "./handlers/watchJob.js";
import { SHUTDOWN_REASON } from "./jobManager.js";
import type { Jobs } from "./jobs.js";

export { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE } from "./handlers/getResult.js";
export { DEFAULT_WATCH_INTERVAL_MS } from "./handlers/watchJob.js";

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

/**
 * servesim.v1.SchedulerService over a job manager, ready to host with startGrpcServer: one handler per
 * file under handlers/, each behind the call pipeline (logging, deadline, authentication, error mapping)
 * and the guarded request decoders.
 */
export function createSchedulerService(opts: SchedulerServiceOptions): ServiceRegistration {
  const { manager, logger } = opts;
  const pipeline = new CallPipeline({ logger, ...(opts.authenticator ? { authenticator: opts.authenticator } : {}) });
  const deps: SchedulerDeps = { manager, maxListJobs: opts.maxListJobs ?? 1000, maxDatasetBytes: opts.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= manager.shutdown(SHUTDOWN_REASON));

  const implementation: SchedulerServiceServer = {
    submitJob: pipeline.unary("SubmitJob", (req, ctx) => submitJob(deps, req, ctx)),
    submitJobStream: pipeline.clientStream("SubmitJobStream", (call, ctx) => submitJobStream(deps, call, ctx)),
    getJob: pipeline.unary("GetJob", (req, ctx) => getJob(deps, req, ctx)),
    watchJob: pipeline.takeover("WatchJob", (call: Parameters<SchedulerServiceServer["watchJob"]>[0], ctx) => watchJob(deps, call, ctx)),
    cancelJob: pipeline.unary("CancelJob", (req, ctx) => cancelJob(deps, req, ctx)),
    listJobs: pipeline.unary("ListJobs", (req, ctx) => listJobs(deps, req, ctx)),
    getResult: pipeline.serverStream("GetResult", (call, ctx) => getResult(deps, call, ctx)),
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
