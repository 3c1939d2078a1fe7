import { loadPredictorServerConfig, predictorSettings } from "@servesim/predictor-service";
import { DEFAULT_PORTS, serverSettings } from "@servesim/server-common";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addSettingsOptions } from "../src/commands/serve.js";

describe("predictor server configuration", () => {
  it("defaults to port 50051 and the batch limits", () => {
    expect(loadPredictorServerConfig({ env: {} })).toMatchObject({ port: 50051, maxBatchEntries: 65536, maxDecodeSteps: 1_048_576, predictorCacheSize: 32 });
  });

  it("reads every setting from the command line, flags winning over the environment", () => {
    const cmd = addSettingsOptions(new Command("predictor"), { ...serverSettings(DEFAULT_PORTS.predictor), ...predictorSettings });
    cmd.parse(["--port", "7000", "--log-level", "debug", "--max-batch-entries", "10", "--max-message-bytes", "1MiB"], { from: "user" });
    const config = loadPredictorServerConfig({ env: { SERVESIM_PORT: "1", SERVESIM_HOST: "127.0.0.1", SERVESIM_MAX_BATCH_ENTRIES: "5" }, flags: cmd.opts() });
    expect(config).toMatchObject({ port: 7000, host: "127.0.0.1", logLevel: "debug", maxBatchEntries: 10, maxMessageBytes: 1024 * 1024 });
  });

  it("names the variable of a bad predictor setting", () => {
    expect(() => loadPredictorServerConfig({ env: { SERVESIM_MAX_BATCH_ENTRIES: "0" } })).toThrow(
      /^SERVESIM_MAX_BATCH_ENTRIES: must be an integer in \[1, 16777216\] \(got "0"\)$/,
    );
  });
});
