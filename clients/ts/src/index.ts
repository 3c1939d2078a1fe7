/** servesim TypeScript client: the scheduler and predictor services, and a remote BatchPredictor. */
export { resolveAddress, type ResolvedAddress } from "./address.js";
export { DEFAULT_DEADLINE_MS, DEFAULT_RETRIES, type ClientOptions } from "./channel.js";
export { ServesimError, toServesimError } from "./errors.js";
export { PredictorClient, type CallOpts } from "./predictorClient.js";
export { iterationFromWire, iterationToWire, requestFromWire, requestToWire } from "./records.js";
export { RemotePredictor, type RemotePredictorOptions, type RemotePredictorStreamOptions } from "./remotePredictor.js";
export { SchedulerClient, type GetResultOpts, type JobOutput, type SubmitOpts, type WatchOpts } from "./schedulerClient.js";
export type {
  IterationRecord,
  Job,
  JobProgress,
  JobResult,
  JobSpec,
  RequestRecord,
  WatchJobResponse,
} from "../../../gen/ts/servesim/v1/scheduler.js";
export { JobState } from "../../../gen/ts/servesim/v1/scheduler.js";
export type { DescribePredictorResponse, ListCatalogResponse, PredictorConfig } from "../../../gen/ts/servesim/v1/predictor.js";
export { PredictorKind } from "../../../gen/ts/servesim/v1/predictor.js";
