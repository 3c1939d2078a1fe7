/** servesim TypeScript client: the scheduler and predictor services. */

export { DEFAULT_PERCENTILES, parsePercentiles, parseSlos, type Slo, type SloMetric } from "@servesim/core";
export {
  type ClientOptions,
  DEFAULT_DEADLINE_MS,
  DEFAULT_RETRIES,
  iterationFromWire,
  iterationToWire,
  type ResolvedAddress,
  readClusterYaml,
  requestFromWire,
  requestToWire,
  resolveAddress,
  ServesimError,
  sloFromWire,
  sloToWire,
  toServesimError,
} from "@servesim/wire";
export type { DescribePredictorResponse, ListCatalogResponse, PredictorConfig } from "@servesim/wire/predictor";
export { PredictorKind } from "@servesim/wire/predictor";
export type {
  ClusterSpec,
  IterationRecord,
  Job,
  JobProgress,
  JobResult,
  JobSpec,
  ReportOptions,
  RequestRecord,
  SweepPoint,
  SweepRow,
  SweepSpec,
  WatchJobResponse,
} from "@servesim/wire/scheduler";
export { JobState } from "@servesim/wire/scheduler";
export { type CallOpts, PredictorClient } from "./predictorClient.js";
export { reportOptions } from "./reportOptions.js";
export { type GetResultOpts, type JobOutput, SchedulerClient, type SubmitOpts, type WatchOpts } from "./schedulerClient.js";
