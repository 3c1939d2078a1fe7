import { createRequire } from "node:module";
import type { FileRegistry } from "@bufbuild/protobuf";
import { createAuthenticator, DataRoots, type ServerHandle, startGrpcServer, WireChecker } from "@servesim/server-common";
import { descriptorSetPath } from "@servesim/wire";
import type { Logger } from "pino";
import type { SchedulerServerConfig } from "./config.js";
import type { JobExecutor } from "./jobExecutor.js";
import { JobManager } from "./jobManager.js";
import { MemoryJobStore } from "./jobStore.js";
import type { Jobs } from "./jobs.js";
import { RemoteExecutor } from "./remoteExecutor.js";
import { createSchedulerService } from "./service.js";
import { SharedJobManager } from "./sharedJobManager.js";
import { SqliteJobStore } from "./sqliteJobStore.js";

export interface SchedulerServer extends ServerHandle {
  readonly manager: Jobs;
}

/** The proto schema of the descriptor set reflection uses (request checks); off (with a warning) without one. */
function schema(config: SchedulerServerConfig, logger: Logger): FileRegistry | undefined {
  const path = config.descriptorSet ?? descriptorSetPath();
  if (!path) {
    logger.warn("the descriptor set (services/wire/gen/servesim.binpb) was not found: SubmitJob cannot reject unknown fields");
    return undefined;
  }
  return WireChecker.registry(path);
}

/**
 * Starts the scheduler service (SchedulerService + health + reflection). Jobs run against the
 * predictor service at config.predictorAddress unless another executor is given (tests). The caller
 * decides about signals (handleShutdownSignals); shutdown cancels running and queued jobs.
 */
export async function startSchedulerServer(config: SchedulerServerConfig, logger: Logger, executor?: JobExecutor): Promise<SchedulerServer> {
  const roots = await DataRoots.open(config.dataRoots, config.maxDataFileBytes);
  const exec =
    executor ??
    new RemoteExecutor({
      roots,
      predictorAddress: config.predictorAddress,
      ...(config.predictorTls ? { predictorTls: config.predictorTls } : {}),
      ...(config.predictorToken ? { predictorToken: config.predictorToken } : {}),
      predictorDeadlineMs: config.predictorDeadlineMs,
      predictorRetries: config.predictorRetries,
      limits: { maxRequests: config.maxJobRequests, maxTotalTokens: config.maxJobTokens, maxDatasetBytes: config.maxDatasetBytes },
      maxSweepPoints: config.maxSweepPoints,
      maxIterations: config.maxJobIterations,
      sweepParallelism: config.sweepParallelism,
      logger,
    });
  let manager: Jobs;
  if (config.jobStore.startsWith("postgres")) {
    // Loaded with Node's require: the CommonJS build, whatever the bundler's export conditions.
    const pg = createRequire(import.meta.url)("pg") as typeof import("pg");
    manager = await SharedJobManager.open(exec, {
      pool: new pg.Pool({ connectionString: config.jobStore, max: 8 }),
      logger,
      maxConcurrentJobs: config.maxConcurrentJobs,
      maxQueuedJobs: config.maxQueuedJobs,
      maxTenantJobs: config.maxTenantJobs,
      maxResultBytes: config.maxResultBytes,
      quota: config.quota,
      resultTtlMs: config.resultTtlMs,
      leaseMs: config.jobLeaseMs,
    });
  } else {
    const store = config.jobStore.startsWith("sqlite:") ? new SqliteJobStore(config.jobStore.slice("sqlite:".length)) : new MemoryJobStore();
    const local = new JobManager(exec, {
      store,
      maxTenantJobs: config.maxTenantJobs,
      maxResultBytes: config.maxResultBytes,
      maxStoredResultBytes: config.maxStoredResultBytes,
      quota: config.quota,
      maxConcurrentJobs: config.maxConcurrentJobs,
      maxQueuedJobs: config.maxQueuedJobs,
      maxStoredJobs: config.maxStoredJobs,
      resultTtlMs: config.resultTtlMs,
      logger,
    });
    await local.restore();
    manager = local;
  }
  const registry = schema(config, logger);
  const service = createSchedulerService({
    manager,
    logger,
    authenticator: createAuthenticator(config, config.quota.claimNames),
    maxDatasetBytes: config.maxDatasetBytes,
    maxListJobs: config.maxListJobs,
    ...(registry ? { registry } : {}),
  });
  logger.info(
    {
      predictorAddress: config.predictorAddress,
      maxConcurrentJobs: config.maxConcurrentJobs,
      maxQueuedJobs: config.maxQueuedJobs,
      // A postgres URL may carry a password.
      jobStore: config.jobStore.replace(/\/\/[^@/]*@/, "//***@"),
    },
    "scheduler configured",
  );
  let handle: ServerHandle;
  try {
    handle = await startGrpcServer({ config, logger, services: [service] });
  } catch (err) {
    await manager.shutdown();
    throw err;
  }
  return Object.assign(handle, { manager });
}
