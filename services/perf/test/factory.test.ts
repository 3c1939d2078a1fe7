import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { config, expectInvalid, expectInvalidAsync } from "@servesim/testkit";
import { DType, PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { createPredictor, describePredictor, listCatalog, predictDecodeRun } from "../src/factory.js";

const aicCfg = (extra: Parameters<typeof config>[0]) =>
  config({ kind: PredictorKind.PREDICTOR_KIND_AIC, model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", backendVersion: "1.2.0rc5", ...extra });

describe("createPredictor", () => {
  it("builds each kind with a descriptive name", async () => {
    expect((await createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT }))).description).toBe("constant (prefill 10 ms, decode 5 ms)");
    const r = await createPredictor(
      config({ model: { name: "llama-3.1-70b" }, deviceName: "h200_sxm", parallelism: { tp: 4, pp: 1, ep: 1 }, weightDtype: DType.D_TYPE_FP8 }),
    );
    expect(r.description).toBe("roofline (h200_sxm, Llama-3.1-70B, TP4, fp8)");
  });

  it("validates kind, scale factors, overheads and ctx_attention", async () => {
    await expectInvalidAsync(() => createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED })), "config.kind");
    await expectInvalidAsync(
      () => createPredictor(config({ model: { name: "tinyllama" }, deviceName: "h100_sxm", prefillScaleFactor: 0 })),
      "config.prefill_scale_factor",
    );
    await expectInvalidAsync(
      () => createPredictor(config({ model: { name: "tinyllama" }, deviceName: "h100_sxm", stepOverheadUs: -1 })),
      "config.step_overhead_us",
    );
    await expectInvalidAsync(
      () => createPredictor(config({ model: { name: "tinyllama" }, deviceName: "h100_sxm", ctxAttention: "exact" })),
      "config.ctx_attention",
      /grouped/,
    );
    await expectInvalidAsync(() => createPredictor(config({ model: { name: "nope" }, deviceName: "h100_sxm" })), "config.model", /unknown model "nope"/);
  });

  it("aic requires its settings and names missing paths", async () => {
    await expectInvalidAsync(() => createPredictor(aicCfg({})), "config.database_path", /required/);
    // backend_version is optional: it defaults to the system's newest tables (issue 12).
    await expectInvalidAsync(() => createPredictor(aicCfg({ databasePath: "/x", backendVersion: "" })), "config.database_path", /\/x: no such directory/);
    await expectInvalidAsync(() => createPredictor(aicCfg({ databasePath: "/x", deviceName: "" })), "config.device_name", /required/);
    await expectInvalidAsync(
      () => createPredictor(aicCfg({ databasePath: "/no/such/systems" })),
      "config.database_path",
      /\/no\/such\/systems: no such directory/,
    );

    const dir = mkdtempSync(join(tmpdir(), "servesim-aic-"));
    writeFileSync(
      join(dir, "h200_sxm.yaml"),
      "data_dir: data/h200_sxm\ngpu:\n  mem_bw: 4.8e12\n  mem_capacity: 151397597184\n  bfloat16_tc_flops: 9.89e14\nnode:\n  intra_node_bw: 4.5e11\n  inter_node_bw: 5.0e10\n",
    );
    await expectInvalidAsync(
      () => createPredictor(aicCfg({ databasePath: dir })),
      "config.device_name",
      new RegExp(`${join(dir, "h100_sxm.yaml")}: no such system YAML \\(systems here: h200_sxm\\)`),
    );
    await expectInvalidAsync(
      () => createPredictor(aicCfg({ databasePath: dir, deviceName: "h200_sxm" })),
      "config.device_name",
      /data\/h200_sxm: no AIC data directory/,
    );
    mkdirSync(join(dir, "data/h200_sxm/gemm/trtllm/1.1.0"), { recursive: true });
    await expectInvalidAsync(
      () => createPredictor(aicCfg({ databasePath: dir, deviceName: "h200_sxm" })),
      "config.backend_version",
      /no trtllm 1\.2\.0rc5 tables under .*versions here: 1\.1\.0/,
    );
  });

  it("aic resolves a system outside the catalog from the systems directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "servesim-aic-"));
    writeFileSync(
      join(dir, "gb999.yaml"),
      "data_dir: data/gb999\ngpu:\n  mem_bw: 1.0e13\n  mem_capacity: 1.0e11\n  bfloat16_tc_flops: 2.0e15\nnode:\n  intra_node_bw: 9.0e11\n  inter_node_bw: 1.0e11\n",
    );
    await expectInvalidAsync(() => createPredictor(aicCfg({ databasePath: dir, deviceName: "gb999" })), "config.device_name", /no AIC data directory/);
    expect(describePredictor(aicCfg({ databasePath: dir, deviceName: "gb999" })).gpu?.memBw).toBe(1e13);
  });

  it("predictDecodeRun works for any predictor", async () => {
    const c = await createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantDecodeTimeMs: 4 }));
    expect(await predictDecodeRun(c, [5, 6], 2, 3)).toEqual([4, 4, 4]);
  });
});

describe("describePredictor", () => {
  it("resolves model, GPU, memory and dtypes", () => {
    const d = describePredictor(config({ model: { name: "nvidia/Llama-3.1-8B-Instruct-FP8" }, deviceName: "h100_sxm", parallelism: { tp: 2, pp: 1, ep: 1 } }));
    expect(d.description).toBe("roofline (h100_sxm, Llama-3.1-8B, TP2, fp8)");
    expect(d.paramCount).toBe(8_030_261_248);
    expect(d.weightBytesPerGpu).toBe(4_015_130_624);
    expect(d.kvBytesPerTokenPerGpu).toBe(32_768);
    expect([d.weightDtype, d.kvCacheDtype]).toEqual([DType.D_TYPE_FP8, DType.D_TYPE_FP8]);
    expect(d.model?.numHiddenLayers).toBe(32);
    expect(d.gpu?.name).toBe("h100_sxm");
  });

  it("a constant predictor without a model is described by its kind; errors name fields", () => {
    expect(describePredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT })).description).toBe("constant");
    expectInvalid(() => describePredictor(config({ model: { name: "llama-3.1-8b" }, deviceName: "tpu" })), "config.device_name");
    expectInvalid(() => describePredictor(config({ kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED })), "config.kind");
  });
});

describe("listCatalog", () => {
  it("lists predictors, models with aliases and defaults, and GPUs", () => {
    const c = listCatalog();
    expect(c.predictors).toHaveLength(4);
    expect(c.models.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        "Llama-3.1-8B",
        "Llama-3.1-70B",
        "Llama-3.3-70B",
        "Qwen2.5-7B",
        "Qwen3-32B",
        "Mixtral-8x7B",
        "TinyLlama-1.1B",
        "Llama-3.1-8B-Instruct-FP8",
      ]),
    );
    const fp8 = c.models.find((m) => m.name === "Llama-3.3-70B-Instruct-FP8")!;
    expect([fp8.defaultWeightDtype, fp8.defaultKvCacheDtype, fp8.aliases]).toEqual([DType.D_TYPE_FP8, DType.D_TYPE_FP8, ["nvidia/Llama-3.3-70B-Instruct-FP8"]]);
    expect(c.models.find((m) => m.name === "Llama-3.1-8B")!.aliases).toContain("meta-llama/Llama-3.1-8B-Instruct");
    expect(c.gpus.map((g) => g.name)).toEqual(["h100_sxm", "h200_sxm", "a100_sxm", "b200_sxm", "gb200", "b300_sxm", "gb300", "l40s"]);
  });
});
