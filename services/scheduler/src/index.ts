export { loadSchedulerServerConfig, type SchedulerServerConfig, schedulerSettings } from "./config.js";
export { type SchedulerServer, startSchedulerServer } from "./server.js";
