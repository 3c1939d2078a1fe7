import { status } from "@grpc/grpc-js";
import { constantConfig, gate, gen, healthClient, openStream, predict, reflectionClient, startTestServer, wireBatch } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

describe("health and reflection", () => {
  it("reports SERVING for the server and for servesim.v1.PredictorService, NOT_FOUND for others", async () => {
    const s = await startTestServer();
    const h = healthClient(s.handle.port);
    try {
      expect(await h.check("")).toBe("SERVING");
      expect(await h.check("servesim.v1.PredictorService")).toBe("SERVING");
      await expect(h.check("servesim.v1.SchedulerService")).rejects.toMatchObject({ code: status.NOT_FOUND });
    } finally {
      h.close();
      await s.stop();
    }
  });

  it.each(["v1", "v1alpha"] as const)("lists and describes the services over reflection %s", async (version) => {
    const s = await startTestServer();
    const r = reflectionClient(s.handle.port, version);
    try {
      expect(await r.listServices()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "servesim.v1.PredictorService",
      ]);
      expect((await r.fileContainingSymbol("servesim.v1.PredictorService")).files).toBeGreaterThan(0);
      expect((await r.fileContainingSymbol("servesim.v1.SimBatch")).files).toBeGreaterThan(0);
      expect((await r.fileContainingSymbol("grpc.health.v1.Health")).files).toBeGreaterThan(0);
      expect((await r.fileContainingSymbol("servesim.v1.NoSuchThing")).error).toBeDefined();
    } finally {
      r.close();
      await s.stop();
    }
  });
});

describe("graceful shutdown", () => {
  it("tells watchers NOT_SERVING, answers the in-flight batch, then ends the stream with UNAVAILABLE", async () => {
    const release = gate<number>();
    const priced = gate();
    let calls = 0;
    const s = await startTestServer({
      build: async () => ({
        description: "gated",
        predict: () => {
          calls += 1;
          priced.open();
          return release.promise;
        },
      }),
    });
    const h = healthClient(s.handle.port);
    const watch = h.watch("servesim.v1.PredictorService");
    expect(await watch.next()).toBe("SERVING");

    const st = openStream(s.client);
    st.send({ config: constantConfig() });
    st.send({ batch: wireBatch([gen(1)]), sequence: 1 });
    await priced.promise;

    const stopped = s.handle.shutdown("test");
    expect(await watch.next()).toBe("NOT_SERVING");
    expect(await watch.ended).toBeNull();

    // New calls are refused while the stream drains.
    const refused = await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }).then(
      () => null,
      (e: { code: number }) => e.code,
    );
    expect(refused).toBe(status.UNAVAILABLE);

    release.open(7);
    const [answer] = await st.received(1);
    expect(answer).toMatchObject({ sequence: 1, timeMs: 7 });
    const end = await st.status;
    expect(end?.code).toBe(status.UNAVAILABLE);
    expect(end?.details).toMatch(/shutting down/);
    await stopped;
    expect(calls).toBe(1);
    const lines = s.logs.map((l) => l.msg);
    expect(lines).toContain("shutting down");
    expect(lines.at(-1)).toBe("stopped");
    expect(s.logs.find((l) => l.msg === "stream closed")).toMatchObject({ outcome: "drained", answered: 1 });
    h.close();
    s.client.close();
  });

  it("reports NOT_SERVING to health checks during the shutdown delay", async () => {
    const s = await startTestServer({ env: { SERVESIM_SHUTDOWN_DELAY_MS: "60000" } });
    const h = healthClient(s.handle.port);
    try {
      expect(await h.check("")).toBe("SERVING");
      const stopped = s.handle.shutdown();
      expect(await h.check("")).toBe("NOT_SERVING");
      expect(await h.check("servesim.v1.PredictorService")).toBe("NOT_SERVING");
      // Still serving calls during the delay.
      expect((await predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) })).timeMs).toBe(5);
      s.handle.forceShutdown();
      await stopped;
    } finally {
      h.close();
      s.client.close();
    }
  });

  it("ends an idle stream at once and cuts calls still running after the grace period", async () => {
    const never = gate<number>();
    const priced = gate();
    const s = await startTestServer({
      env: { SERVESIM_GRACE_MS: "200" },
      build: async () => ({ description: "stuck", predict: () => (priced.open(), never.promise) }),
    });
    const idle = openStream(s.client);
    idle.send({ config: constantConfig() });
    const stuck = predict(s.client, { config: constantConfig(), batch: wireBatch([gen(1)]) }).catch((e: { code: number }) => e.code);
    await priced.promise;
    await s.handle.shutdown();
    expect((await idle.status)?.code).toBe(status.UNAVAILABLE);
    // Cut with RST_STREAM, which grpc-js clients report as CANCELLED.
    expect(await stuck).toBe(status.CANCELLED);
    expect(s.logs.map((l) => l.msg)).toContain("grace period over: cutting the calls still open");
    s.client.close();
  });

  it("is idempotent", async () => {
    const s = await startTestServer();
    const a = s.handle.shutdown();
    const b = s.handle.shutdown();
    expect(a).toBe(b);
    await a;
    await s.handle.closed;
    s.client.close();
  });
});
