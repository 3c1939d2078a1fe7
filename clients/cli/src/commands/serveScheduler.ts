import { loadSchedulerServerConfig, type SchedulerServerConfig, schedulerSettings, startSchedulerServer } from "@servesim/scheduler-service";
import { DEFAULT_PORTS, serverSettings } from "@servesim/server-common";
import type { ServedService } from "./serve.js";

/**
 * `servesim serve scheduler`: the scheduler gRPC service (--port, --host, --predictor-address,
 * --max-concurrent-jobs, --log-level and the other settings, each also an environment variable).
 */
export const schedulerService: ServedService<SchedulerServerConfig> = {
  name: "scheduler",
  description:
    `run the scheduler gRPC service (servesim.v1.SchedulerService, health, reflection; default port ${DEFAULT_PORTS.scheduler}); ` +
    "jobs are priced by the predictor service at --predictor-address",
  settings: { ...serverSettings(DEFAULT_PORTS.scheduler), ...schedulerSettings },
  load: loadSchedulerServerConfig,
  start: startSchedulerServer,
};
