import { status } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import { callError, constantConfig, startTestServer, type TestServer } from "@servesim/testkit";
import { type DescribePredictorResponse, DType, type ListCatalogResponse, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { availableKinds } from "../src/catalog.js";

describe("ListCatalog and DescribePredictor", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  const listCatalog = () => new Promise<ListCatalogResponse>((res, rej) => s.client.listCatalog({}, (e, r) => (e ? rej(e) : res(r))));
  const describeConfig = (config: PredictorConfig | undefined) =>
    new Promise<DescribePredictorResponse>((res, rej) => s.client.describePredictor({ config }, (e, r) => (e ? rej(e) : res(r))));

  it("lists the constant predictor, the built-in models and GPUs", async () => {
    const c = await listCatalog();
    expect(c.predictors).toContain(PredictorKind.PREDICTOR_KIND_CONSTANT);
    const llama = c.models.find((m) => m.name === "Llama-3.1-8B");
    expect(llama?.architecture?.numHiddenLayers).toBe(32);
    expect(llama?.defaultWeightDtype).toBe(DType.D_TYPE_BF16);
    expect(c.gpus.map((g) => g.name)).toContain("h100_sxm");
    expect(c.gpus.find((g) => g.name === "h100_sxm")?.hardware?.memBw).toBe(3.35e12);
  });

  it("describes a constant configuration", async () => {
    const d = await describeConfig(constantConfig({ constantPrefillTimeMs: 12 }));
    expect(d.description).toBe("constant (prefill 12 ms, decode 5 ms)");
    expect(d.model).toBeUndefined();
    expect(d.weightDtype).toBe(DType.D_TYPE_UNSPECIFIED);
  });

  it("rejects a missing or invalid configuration with INVALID_ARGUMENT", async () => {
    expect(await callError(describeConfig(undefined))).toMatchObject({ code: status.INVALID_ARGUMENT, details: "config: is required" });
    const err = await callError(describeConfig(constantConfig({ decodeScaleFactor: 0 })));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details.startsWith("config.decode_scale_factor: ")).toBe(true);
  });
});

describe("availableKinds", () => {
  it("keeps the kinds the factory builds or rejects on another field, drops those rejected on config.kind", async () => {
    const kinds = await availableKinds(async (config) => {
      if (config.kind === PredictorKind.PREDICTOR_KIND_CONSTANT) return { description: "c", predict: () => 1 };
      if (config.kind === PredictorKind.PREDICTOR_KIND_ROOFLINE) throw new InvalidArgumentError("config.model", "required");
      throw new InvalidArgumentError("config.kind", "unknown predictor kind");
    });
    expect(kinds).toEqual([PredictorKind.PREDICTOR_KIND_CONSTANT, PredictorKind.PREDICTOR_KIND_ROOFLINE]);
  });
});
