import { existsSync } from "node:fs";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { createLogger, type ServerHandle } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sharedDataPath } from "./harness.js";

const systemsDir = sharedDataPath("aic-systems");

describe("servesim catalog", () => {
  it("lists the predictors, the built-in models with their default precisions, and the GPUs", async () => {
    const r = await runCli(["catalog"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Predictors\n/);
    expect(r.stdout).toMatch(/^aic +aiconfigurator /m);
    expect(r.stdout).toMatch(
      /^DeepSeek-R1 +DeepseekV3ForCausalLM +671\.0B +61 +8\/256 +fp8_block +bf16 +deepseek-ai\/DeepSeek-R1, deepseek-ai\/DeepSeek-R1-0528$/m,
    );
    expect(r.stdout).toMatch(/^DeepSeek-R1-0528-FP4 +DeepseekV3ForCausalLM +671\.0B +61 +8\/256 +nvfp4 +fp8 +nvidia\/DeepSeek-R1-0528-FP4$/m);
    expect(r.stdout).toMatch(/^gb200 +185 GiB +8\.00 TB\/s +2500\/5000\/10000 +900 +72 +100$/m);
    expect(r.stdout).not.toContain("AIC table sets");
  });

  it.skipIf(!existsSync(systemsDir))("with --database-path, the table versions of every system (the newest is the default)", async () => {
    const r = await runCli(["catalog", "--database-path", systemsDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^b200_sxm +1\.2\.0rc5 +attention, comm, gemm, mla, mla_bmm, moe, quantize, sparse_attention$/m);
    expect(r.stdout).toMatch(/^gb300 +1\.3\.0rc20 \(newest, default\) +attention, /m);
  });

  it("names a bad systems directory", async () => {
    const r = await runCli(["catalog", "--database-path", "/no/such/systems"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--database-path /no/such/systems: database_path: /no/such/systems: no such directory");
  });

  describe("against a predictor service", () => {
    let server: ServerHandle;
    beforeAll(async () => {
      server = await startPredictorServer(
        loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }),
        createLogger({ name: "predictor", level: "silent" }),
      );
    });
    afterAll(async () => {
      server.forceShutdown();
      await server.closed;
    });

    it("ListCatalog over gRPC is the same catalog", async () => {
      const local = await runCli(["catalog", "--json"]);
      const remote = await runCli(["catalog", "--json", "--predictor-address", `127.0.0.1:${server.port}`]);
      expect(remote.code).toBe(0);
      expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
    });
  });
});
