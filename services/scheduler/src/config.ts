import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "@servesim/core";
import {
  byteSizeSetting,
  DAY_MS,
  DEFAULT_PORTS,
  integerSetting,
  loadServerConfig,
  nonEmptySetting,
  optionalSetting,
  readPem,
  resolveSettings,
  type ServerConfig,
  type SettingsSources,
  type SettingsValues,
  setting,
} from "@servesim/server-common";
import { resolveAddress, ServesimError } from "@servesim/wire";
import { z } from "zod";
import { parseQuotaClaims, parseQuotaFile, type QuotaPolicy, quotaPolicy, type TenantQuota } from "./quotas.js";

export const SCHEDULER_SERVICE_NAME = "servesim.v1.SchedulerService";

const addressSetting: z.ZodType<string, string> = z.string().superRefine((s, ctx) => {
  try {
    resolveAddress(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: err instanceof ServesimError && err.reason !== undefined ? err.reason : "is not a valid address" });
  }
});

const jobStoreSetting: z.ZodType<string, string> = z
  .string()
  .refine((s) => s === "memory" || /^sqlite:.+/.test(s) || /^postgres(ql)?:\/\/.+/.test(s), "must be memory, sqlite:<file> or postgres://<url>");

/** Settings of the scheduler service on top of the common server settings. */
export const schedulerSettings = {
  predictorAddress: setting({
    env: "SERVESIM_PREDICTOR_ADDRESS",
    flag: "predictor-address",
    arg: "<address>",
    description: "predictor service: host:port, a comma list of replicas, or dns:///name:port (round-robin over every replica)",
    schema: addressSetting,
    default: `localhost:${DEFAULT_PORTS.predictor}`,
  }),
  predictorTlsCa: optionalSetting({
    env: "SERVESIM_PREDICTOR_TLS_CA",
    flag: "predictor-tls-ca",
    arg: "<path>",
    description: "PEM CA of the predictor's certificate (enables TLS to the predictor; default roots when only cert/key are set)",
    schema: nonEmptySetting("path"),
  }),
  predictorTlsCert: optionalSetting({
    env: "SERVESIM_PREDICTOR_TLS_CERT",
    flag: "predictor-tls-cert",
    arg: "<path>",
    description: "PEM client certificate presented to the predictor (mTLS; needs --predictor-tls-key)",
    schema: nonEmptySetting("path"),
  }),
  predictorTlsKey: optionalSetting({
    env: "SERVESIM_PREDICTOR_TLS_KEY",
    flag: "predictor-tls-key",
    arg: "<path>",
    description: "PEM private key of the client certificate",
    schema: nonEmptySetting("path"),
  }),
  predictorToken: optionalSetting({
    env: "SERVESIM_PREDICTOR_TOKEN",
    flag: "predictor-token",
    arg: "<token>",
    description: "bearer token the scheduler presents to the predictor service (when the predictor requires one)",
    schema: nonEmptySetting("token"),
  }),
  maxConcurrentJobs: setting({
    env: "SERVESIM_MAX_CONCURRENT_JOBS",
    flag: "max-concurrent-jobs",
    arg: "<n>",
    description: "jobs simulated at the same time; later jobs queue",
    schema: integerSetting(1, 1024),
    default: 4,
  }),
  maxQueuedJobs: setting({
    env: "SERVESIM_MAX_QUEUED_JOBS",
    flag: "max-queued-jobs",
    arg: "<n>",
    description: "jobs waiting to run; SubmitJob beyond it fails with RESOURCE_EXHAUSTED",
    schema: integerSetting(0, 1_000_000),
    default: 1000,
  }),
  maxStoredJobs: setting({
    env: "SERVESIM_MAX_STORED_JOBS",
    flag: "max-stored-jobs",
    arg: "<n>",
    description: "finished jobs (and their results) kept; the oldest finished are dropped first",
    schema: integerSetting(1, 1_000_000),
    default: 100,
  }),
  resultTtlMs: setting({
    env: "SERVESIM_RESULT_TTL_MS",
    flag: "result-ttl-ms",
    arg: "<ms>",
    description: "how long a finished job and its result are kept",
    schema: integerSetting(1000, 30 * DAY_MS),
    default: 3_600_000,
  }),
  predictorDeadlineMs: setting({
    env: "SERVESIM_PREDICTOR_DEADLINE_MS",
    flag: "predictor-deadline-ms",
    arg: "<ms>",
    description: "how long one batch may wait for the predictor's answer (then the stream is reopened)",
    schema: integerSetting(1, DAY_MS),
    default: 30_000,
  }),
  predictorRetries: setting({
    env: "SERVESIM_PREDICTOR_RETRIES",
    flag: "predictor-retries",
    arg: "<n>",
    description: "reconnects to the predictor for one batch (UNAVAILABLE, missed deadline), with backoff up to 5 s",
    schema: integerSetting(0, 1000),
    default: 8,
  }),
  maxJobRequests: setting({
    env: "SERVESIM_MAX_JOB_REQUESTS",
    flag: "max-job-requests",
    arg: "<n>",
    description: "most requests one job may simulate (larger workloads are INVALID_ARGUMENT)",
    schema: integerSetting(1, 100_000_000),
    default: 1_000_000,
  }),
  maxDatasetBytes: setting({
    env: "SERVESIM_MAX_DATASET_BYTES",
    flag: "max-dataset-bytes",
    arg: "<bytes>",
    description: "largest dataset file one job may upload (SubmitJobStream, or inline content); memory does not grow with it",
    schema: byteSizeSetting(1024, 2 ** 50),
    default: 16 * 1024 ** 3,
  }),
  maxSweepPoints: setting({
    env: "SERVESIM_MAX_SWEEP_POINTS",
    flag: "max-sweep-points",
    arg: "<n>",
    description: "most points one sweep job may have (more is INVALID_ARGUMENT)",
    schema: integerSetting(1, 1_000_000),
    default: 10_000,
  }),
  sweepParallelism: setting({
    env: "SERVESIM_SWEEP_PARALLELISM",
    flag: "sweep-parallelism",
    arg: "<n>",
    description: "points of one sweep job simulated at the same time (each with its own predictor stream)",
    schema: integerSetting(1, 256),
    default: 2,
  }),
  jobStore: setting({
    env: "SERVESIM_JOB_STORE",
    flag: "job-store",
    arg: "<store>",
    description:
      "where jobs are kept: memory (lost on restart), sqlite:<file> (durable, one replica: accepted jobs, results and request_ids survive a crash; unfinished jobs run again after a restart) or postgres://<url> (durable and shared: several replicas claim jobs from one queue with leases)",
    schema: jobStoreSetting,
    default: "memory",
  }),
  jobLeaseMs: setting({
    env: "SERVESIM_JOB_LEASE_MS",
    flag: "job-lease-ms",
    arg: "<ms>",
    description: "postgres store: how long a replica holds a running job without renewing (then another replica takes it over)",
    schema: integerSetting(100, DAY_MS),
    default: 15_000,
  }),
  maxTenantJobs: setting({
    env: "SERVESIM_MAX_TENANT_JOBS",
    flag: "max-tenant-jobs",
    arg: "<n>",
    description: "queued + running jobs one tenant may have (more is RESOURCE_EXHAUSTED)",
    schema: integerSetting(1, 1_000_000),
    default: 100,
  }),
  maxResultBytes: setting({
    env: "SERVESIM_MAX_RESULT_BYTES",
    flag: "max-result-bytes",
    arg: "<bytes>",
    description: "largest result one job may produce (about 8 bytes per output token): larger jobs are INVALID_ARGUMENT at submission",
    schema: byteSizeSetting(1024, 2 ** 40),
    default: 256 * 1024 ** 2,
  }),
  maxStoredResultBytes: setting({
    env: "SERVESIM_MAX_STORED_RESULT_BYTES",
    flag: "max-stored-result-bytes",
    arg: "<bytes>",
    description: "result bytes kept over all finished jobs (the oldest finished are dropped first)",
    schema: byteSizeSetting(1024, 2 ** 50),
    default: 2 * 1024 ** 3,
  }),
  maxListJobs: setting({
    env: "SERVESIM_MAX_LIST_JOBS",
    flag: "max-list-jobs",
    arg: "<n>",
    description: "most jobs one ListJobs answer carries (oldest first)",
    schema: integerSetting(1, 1_000_000),
    default: 1000,
  }),
  maxJobIterations: setting({
    env: "SERVESIM_MAX_JOB_ITERATIONS",
    flag: "max-job-iterations",
    arg: "<n>",
    description:
      "most simulated iterations one job may run (a sweep's points together): INVALID_ARGUMENT at submission when a request's output alone needs more, else the job fails with RESOURCE_EXHAUSTED when it gets there",
    schema: integerSetting(1),
    default: 50_000_000,
  }),
  tenantMaxSubmittedBytes: setting({
    env: "SERVESIM_TENANT_MAX_SUBMITTED_BYTES",
    flag: "tenant-max-submitted-bytes",
    arg: "<bytes>",
    description: "quota: spec and dataset bytes one tenant may submit per window (SERVESIM_TENANT_QUOTA_WINDOW_MS); more is RESOURCE_EXHAUSTED",
    schema: byteSizeSetting(1, 2 ** 52),
    default: 64 * 1024 ** 3,
  }),
  tenantMaxSimulatedTokens: setting({
    env: "SERVESIM_TENANT_MAX_SIMULATED_TOKENS",
    flag: "tenant-max-simulated-tokens",
    arg: "<n>",
    description: "quota: input + output tokens one tenant's jobs may simulate per window (every point of a sweep counts); more is RESOURCE_EXHAUSTED",
    schema: integerSetting(1),
    default: 100_000_000_000,
  }),
  tenantQuotaWindowMs: setting({
    env: "SERVESIM_TENANT_QUOTA_WINDOW_MS",
    flag: "tenant-quota-window-ms",
    arg: "<ms>",
    description: "the rolling window of the submitted-bytes and simulated-tokens quotas: a job counts from its acceptance for this long",
    schema: integerSetting(1000, 365 * DAY_MS),
    default: DAY_MS,
  }),
  tenantQuotaFile: optionalSetting({
    env: "SERVESIM_TENANT_QUOTA_FILE",
    flag: "tenant-quota-file",
    arg: "<path>",
    description: 'per-tenant quotas: lines "<tenant> submitted_bytes=<n> simulated_tokens=<n>" ("*" for every other tenant; "unlimited" lifts one)',
    schema: nonEmptySetting("path"),
  }),
  tenantQuotaJwtClaims: optionalSetting({
    env: "SERVESIM_TENANT_QUOTA_JWT_CLAIMS",
    flag: "tenant-quota-jwt-claims",
    arg: "<quota>=<claim>,...",
    description:
      'per-caller quotas from the verified JWT: "simulated_tokens=<claim>,submitted_bytes=<claim>"; a claim the token carries overrides the quota file and the defaults',
    schema: nonEmptySetting("list"),
  }),
  maxJobTokens: setting({
    env: "SERVESIM_MAX_JOB_TOKENS",
    flag: "max-job-tokens",
    arg: "<n>",
    description: "most input + output tokens over one job's requests",
    schema: integerSetting(1),
    default: 4_000_000_000,
  }),
};

export type SchedulerSettings = SettingsValues<typeof schedulerSettings>;
/** TLS material for the predictor connection (all optional: any one set means TLS). */
export interface PredictorTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}
export type SchedulerServerConfig = ServerConfig & SchedulerSettings & { predictorTls?: PredictorTls; quota: QuotaPolicy };

/** The quota policy of the settings: the defaults, overridden per tenant by the quota file and per caller by JWT claims. */
function tenantQuota(v: SchedulerSettings): QuotaPolicy {
  const field = "SERVESIM_TENANT_QUOTA_FILE (--tenant-quota-file)";
  let perTenant: Map<string, TenantQuota> | undefined;
  if (v.tenantQuotaFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(v.tenantQuotaFile, "utf8");
    } catch (err) {
      throw new InvalidArgumentError(field, `cannot read ${v.tenantQuotaFile}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    perTenant = parseQuotaFile(text, field);
  }
  const claims =
    v.tenantQuotaJwtClaims === undefined ? undefined : parseQuotaClaims(v.tenantQuotaJwtClaims, "SERVESIM_TENANT_QUOTA_JWT_CLAIMS (--tenant-quota-jwt-claims)");
  return quotaPolicy(v.tenantQuotaWindowMs, { submittedBytes: v.tenantMaxSubmittedBytes, simulatedTokens: v.tenantMaxSimulatedTokens }, perTenant, claims);
}

function predictorTls(v: SchedulerSettings): PredictorTls | undefined {
  const { predictorTlsCa: ca, predictorTlsCert: cert, predictorTlsKey: key } = v;
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? "SERVESIM_PREDICTOR_TLS_CERT (--predictor-tls-cert)" : "SERVESIM_PREDICTOR_TLS_KEY (--predictor-tls-key)";
    throw new InvalidArgumentError(missing, "is required when the other half of the client certificate is set");
  }
  return {
    ...(ca !== undefined ? { ca: readPem(ca, "SERVESIM_PREDICTOR_TLS_CA (--predictor-tls-ca)") } : {}),
    ...(cert !== undefined ? { cert: readPem(cert, "SERVESIM_PREDICTOR_TLS_CERT (--predictor-tls-cert)") } : {}),
    ...(key !== undefined ? { key: readPem(key, "SERVESIM_PREDICTOR_TLS_KEY (--predictor-tls-key)") } : {}),
  };
}

/** Resolves the scheduler configuration from flags and the environment (flags win); errors name the flag or variable. */
export function loadSchedulerServerConfig(sources: SettingsSources): SchedulerServerConfig {
  const settings = resolveSettings(schedulerSettings, sources);
  const tls = predictorTls(settings);
  return { ...loadServerConfig(DEFAULT_PORTS.scheduler, sources), ...settings, quota: tenantQuota(settings), ...(tls ? { predictorTls: tls } : {}) };
}
