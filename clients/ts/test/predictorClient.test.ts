import { constantConfig, freePort, localTimes, rooflineConfig, sampleBatches, startPredictor, type TestPredictor } from "@servesim/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PredictorClient, PredictorKind, ServesimError } from "../src/index.js";

describe("PredictorClient", () => {
  let server: TestPredictor;
  let client: PredictorClient;

  beforeAll(async () => {
    server = await startPredictor();
    client = new PredictorClient({ address: `127.0.0.1:${server.port}` });
  });
  afterAll(async () => {
    client?.close();
    await server?.kill();
  });

  it("predict gives the local predictor's times for engine batches (entries and packed forms)", async () => {
    const batches = sampleBatches();
    for (const config of [constantConfig({ constantPrefillTimeMs: 12, constantDecodeTimeMs: 3 }), rooflineConfig()]) {
      const expected = await localTimes(config, batches);
      const got = [];
      for (const b of batches) got.push((await client.predict(config, b)).timeMs);
      expect(got).toEqual(expected);
    }
  });

  it("predict returns the per-op breakdown on request", async () => {
    const [batch] = sampleBatches();
    const { timeMs, breakdown } = await client.predict(rooflineConfig(), batch!, { includeBreakdown: true });
    expect(breakdown.length).toBeGreaterThan(0);
    expect(breakdown.every((o) => typeof o.op === "string" && o.ms >= 0)).toBe(true);
    expect((await client.predict(rooflineConfig(), batch!)).breakdown).toEqual([]);
    expect(timeMs).toBeGreaterThan(0);
  });

  it("predict returns a pipeline's stage times (llama-3.1-8b's 32 layers over 3 stages: 11/11/10), none without", async () => {
    const [batch] = sampleBatches();
    const { stageMs } = await client.predict({ ...rooflineConfig(), parallelism: { tp: 1, pp: 3, ep: 1 } }, batch!);
    expect(stageMs).toHaveLength(3);
    expect(stageMs.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(new Set(stageMs).size).toBe(3);
    expect((await client.predict(rooflineConfig(), batch!)).stageMs).toEqual([]);
  });

  it("listCatalog and describePredictor", async () => {
    const catalog = await client.listCatalog();
    expect(catalog.predictors).toContain(PredictorKind.PREDICTOR_KIND_CONSTANT);
    expect(catalog.gpus.map((g) => g.name)).toContain("h100_sxm");
    const d = await client.describePredictor(rooflineConfig());
    expect(d.description).toMatch(/^roofline/);
    expect(d.paramCount).toBeGreaterThan(7e9);
  });

  it("a bad config is a ServesimError INVALID_ARGUMENT naming the field", async () => {
    const err = await client.describePredictor(constantConfig({ constantPrefillTimeMs: -1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServesimError);
    expect(err).toMatchObject({ code: 3, codeName: "INVALID_ARGUMENT", field: "config.constant_prefill_time_ms" });
  });

  it("an aborted call is CANCELLED", async () => {
    const controller = new AbortController();
    controller.abort("test");
    await expect(client.listCatalog({ signal: controller.signal })).rejects.toMatchObject({ codeName: "CANCELLED" });
  });

  it("unary calls retry UNAVAILABLE with backoff until the server is up", async () => {
    const port = await freePort();
    const late = new PredictorClient({ address: `127.0.0.1:${port}`, retries: 12 });
    const pending = late.describePredictor(constantConfig());
    const started = startPredictor({ port });
    const [described, srv] = await Promise.all([pending, started]);
    expect(described.description).toMatch(/^constant/);
    late.close();
    await srv.kill();
  });

  it("without retries an unreachable server is UNAVAILABLE at once", async () => {
    const port = await freePort();
    const none = new PredictorClient({ address: `127.0.0.1:${port}`, retries: 0 });
    await expect(none.listCatalog()).rejects.toMatchObject({ codeName: "UNAVAILABLE" });
    none.close();
  });
});
