export { addSettingsOptions } from "./commands/serve.js";
export { ProgressDisplay } from "./progress.js";
export { type RunContext, runEmbedded, runOnScheduler, runWithRemotePredictor } from "./throughputModes.js";
