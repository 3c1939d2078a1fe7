import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import { serviceConfig } from "@servesim/wire";
import { type ListCatalogRequest, type ListCatalogResponse, PredictorKind, PredictorServiceService } from "@servesim/wire/predictor";
import { afterEach, describe, expect, it } from "vitest";
import { PredictorClient } from "../src/index.js";

/** A PredictorService whose ListCatalog is UNAVAILABLE `failures` times, then answers; it counts the calls. */
async function flaky(failures: number): Promise<{ port: number; calls: () => number; stop(): void }> {
  let calls = 0;
  const server = new Server();
  const unimplemented = (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED, details: "not here" } as never, null);
  server.addService(PredictorServiceService, {
    listCatalog: (_call: ServerUnaryCall<ListCatalogRequest, ListCatalogResponse>, cb: sendUnaryData<ListCatalogResponse>) => {
      calls++;
      if (calls <= failures) cb({ code: status.UNAVAILABLE, details: "warming up" } as never, null);
      else cb(null, { predictors: [PredictorKind.PREDICTOR_KIND_CONSTANT], models: [], gpus: [], predictorInfo: [], tableSets: [] });
    },
    predict: unimplemented,
    predictStream: (call: { end(): void }) => call.end(),
    describePredictor: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, calls: () => calls, stop: () => server.forceShutdown() };
}

describe("retries through gRPC's retry policy", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it("the service config retries UNAVAILABLE on the idempotent unary methods only", () => {
    const config = serviceConfig(4) as { methodConfig: Array<{ name: Array<{ service: string; method: string }>; retryPolicy: Record<string, unknown> }> };
    expect(config.methodConfig[0]!.retryPolicy).toEqual({
      maxAttempts: 5,
      initialBackoff: "0.1s",
      maxBackoff: "5s",
      backoffMultiplier: 2,
      retryableStatusCodes: ["UNAVAILABLE"],
    });
    expect(config.methodConfig[0]!.name.map((n) => n.method)).toEqual([
      "SubmitJob",
      "GetJob",
      "CancelJob",
      "ListJobs",
      "Predict",
      "ListCatalog",
      "DescribePredictor",
    ]);
    expect(serviceConfig(0)).toEqual({ loadBalancingConfig: [{ round_robin: {} }] });
  });

  it("a server UNAVAILABLE twice answers the third attempt; the retries can run out", async () => {
    const s = await flaky(2);
    stop = s.stop;
    const client = new PredictorClient({ address: `127.0.0.1:${s.port}`, retries: 4 });
    expect((await client.listCatalog()).predictors).toEqual([PredictorKind.PREDICTOR_KIND_CONSTANT]);
    expect(s.calls()).toBe(3);
    client.close();

    const t = await flaky(10);
    stop = () => {
      s.stop();
      t.stop();
    };
    const once = new PredictorClient({ address: `127.0.0.1:${t.port}`, retries: 1 });
    await expect(once.listCatalog()).rejects.toMatchObject({ codeName: "UNAVAILABLE", details: "warming up" });
    expect(t.calls()).toBe(2);
    once.close();
  });
});
