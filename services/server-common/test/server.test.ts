import { EventEmitter } from "node:events";
import { type Client, credentials, Metadata, makeGenericClientConstructor, type ServiceError, status } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import { healthClient, reflectionClient } from "@servesim/testkit";
import { descriptorSetPath } from "@servesim/wire";
import { describe, expect, it } from "vitest";
import { type CallContext, unaryHandler } from "../src/callContext.js";
import { loadServerConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { handleShutdownSignals, type ServerHandle, startGrpcServer } from "../src/server.js";

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()),
};
/** A JSON-encoded test service: Work waits until released or cancelled. */
const WorkService = {
  work: {
    path: "/test.v1.Work/Work",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} as const;
const WorkClient = makeGenericClientConstructor(WorkService, "test.v1.Work") as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => Client & { work(req: unknown, md: Metadata, opts: object, cb: (e: ServiceError | null, r: unknown) => void): void };

async function startWorkServer(work: (req: { x: number }, ctx: CallContext) => Promise<unknown>, env: Record<string, string> = {}) {
  const lines: Array<Record<string, any>> = [];
  const logger = createLogger({ name: "work", level: "debug", destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  const config = loadServerConfig(0, { env: { SERVESIM_HOST: "127.0.0.1", ...env } });
  const handle = await startGrpcServer({
    config,
    logger,
    services: [{ name: "test.v1.Work", definition: WorkService, implementation: { work: unaryHandler("Work", logger, work) } }],
  });
  const client = new WorkClient(`127.0.0.1:${handle.port}`, credentials.createInsecure());
  const call = (req: unknown, opts: object = {}) => new Promise<unknown>((res, rej) => client.work(req, new Metadata(), opts, (e, r) => (e ? rej(e) : res(r))));
  return { handle, client, call, lines };
}

const aborted = (ctx: CallContext) => new Promise<unknown>((resolve) => ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason)));

describe("startGrpcServer", () => {
  it("serves a generic service with health for it and the server, and reflection for what it can describe", async () => {
    const s = await startWorkServer(async (req) => ({ y: req.x * 2 }));
    const h = healthClient(s.handle.port);
    const r = reflectionClient(s.handle.port, "v1");
    try {
      expect(await s.call({ x: 21 })).toEqual({ y: 42 });
      expect(await h.check("")).toBe("SERVING");
      expect(await h.check("test.v1.Work")).toBe("SERVING");
      expect(await r.listServices()).toEqual(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
      expect(s.lines.find((l) => l.msg.startsWith("reflection cannot describe"))?.services).toEqual(["test.v1.Work"]);
    } finally {
      h.close();
      r.close();
      s.client.close();
      await s.handle.shutdown();
    }
  });

  it("maps handler errors to statuses", async () => {
    const s = await startWorkServer(async () => {
      throw new InvalidArgumentError("x", "must be even");
    });
    try {
      await expect(s.call({ x: 1 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: "x: must be even" });
    } finally {
      s.client.close();
      await s.handle.shutdown();
    }
  });

  it("aborts the handler's signal when the client cancels", async () => {
    let seen!: Promise<unknown>;
    let enter!: () => void;
    const entered = new Promise<void>((r) => (enter = r));
    const s = await startWorkServer((_req, ctx) => {
      seen = aborted(ctx);
      enter();
      return seen;
    });
    try {
      const call = s.client.makeUnaryRequest("/test.v1.Work/Work", json.serialize, json.deserialize, { x: 1 }, () => undefined);
      await entered;
      call.cancel();
      expect(await seen).toMatchObject({ name: "CancelledError" });
    } finally {
      s.client.close();
      await s.handle.shutdown();
    }
  });

  it("aborts the handler's signal at the deadline and answers DEADLINE_EXCEEDED", async () => {
    let seen!: Promise<unknown>;
    let deadline = 0;
    const s = await startWorkServer((_req, ctx) => {
      deadline = ctx.deadline;
      seen = aborted(ctx);
      return seen;
    });
    try {
      const sent = Date.now() + 250;
      await expect(s.call({ x: 1 }, { deadline: sent })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
      expect(await seen).toMatchObject({ name: "CancelledError" });
      expect(Number.isFinite(deadline)).toBe(true);
    } finally {
      s.client.close();
      await s.handle.shutdown();
    }
  });

  it("fails to start with a clear error when the port is taken", async () => {
    const s = await startWorkServer(async () => ({}));
    try {
      const config = loadServerConfig(0, { env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: String(s.handle.port) } });
      await expect(startGrpcServer({ config, logger: createLogger({ name: "t", level: "silent" }), services: [] })).rejects.toThrow(
        `cannot listen on 127.0.0.1:${s.handle.port}`,
      );
    } finally {
      s.client.close();
      await s.handle.shutdown();
    }
  });

  it("rejects an unreadable descriptor set naming the setting", async () => {
    const config = loadServerConfig(0, { env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_DESCRIPTOR_SET: "/nonexistent/x.binpb" } });
    await expect(startGrpcServer({ config, logger: createLogger({ name: "t", level: "silent" }), services: [] })).rejects.toThrow(
      /^SERVESIM_DESCRIPTOR_SET \(--descriptor-set\): cannot read descriptor set \/nonexistent\/x.binpb/,
    );
  });
});

/**
 * A prober on a thread of its own: Check on `port` every 20 ms for `ms` from its first answer ("ready"),
 * each answer's status (1 SERVING, 2 NOT_SERVING) with the wall-clock time it arrived.
 */
const PROBER = `
const { parentPort, workerData } = require("node:worker_threads");
const { credentials, makeGenericClientConstructor, Metadata } = require(workerData.grpc);
const client = new (makeGenericClientConstructor({}, "h"))("127.0.0.1:" + workerData.port, credentials.createInsecure());
const out = [];
let end;
(async () => {
  while (end === undefined || Date.now() < end) {
    const status = await new Promise((resolve) => client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b) => b, (b) => b, Buffer.alloc(0), new Metadata(), (err, b) => resolve(err ? -1 : (b[1] ?? 0))));
    out.push([Date.now(), status]);
    if (end === undefined) {
      end = Date.now() + workerData.ms;
      parentPort.postMessage("ready");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  client.close();
  parentPort.postMessage(out);
})();
`;

describe("the dedicated health port (SERVESIM_HEALTH_PORT)", () => {
  it("answers from its own thread while the event loop is blocked, NOT_SERVING once it stalls past SERVESIM_HEALTH_STALL_MS, and follows shutdown", async () => {
    const { Worker } = await import("node:worker_threads");
    const s = await startWorkServer(async () => ({}), { SERVESIM_HEALTH_PORT: "0", SERVESIM_HEALTH_STALL_MS: "1000", SERVESIM_SHUTDOWN_DELAY_MS: "2000" });
    const port = s.lines.find((l) => l.msg === "listening")?.healthPort as number;
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(s.handle.port);
    const h = healthClient(port);
    try {
      // The statuses reach the health thread as messages: SERVING shortly after the server is up.
      for (const until = Date.now() + 5000; (await h.check("")) !== "SERVING" && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
      expect(await h.check("")).toBe("SERVING");
      expect(await h.check("test.v1.Work")).toBe("SERVING");
      const grpc = import.meta.resolve("@grpc/grpc-js").replace(/^file:\/\//, "");
      const prober = new Worker(PROBER, { eval: true, workerData: { port, ms: 5000, grpc } });
      await new Promise((resolve) => prober.once("message", resolve));
      const probes = new Promise<Array<[number, number]>>((resolve) => prober.once("message", resolve));
      // Block this thread's event loop for 3 s (the machine may be loaded: margins of 0.5–1 s around the 1 s stall).
      const from = Date.now();
      while (Date.now() - from < 3000);
      const to = Date.now();
      const seen = await probes;
      await prober.terminate();
      const during = seen.filter(([t]) => t > from && t < to);
      // Answered while the loop was blocked: SERVING first, NOT_SERVING once the stall passed 1 s.
      expect(during.length).toBeGreaterThanOrEqual(5);
      expect(during.filter(([t, st]) => t < from + 500 && st !== 1)).toEqual([]);
      expect(during.filter(([t, st]) => t > from + 2000 && st !== 2)).toEqual([]);
      expect(during.filter(([t]) => t > from + 2000).length).toBeGreaterThan(0);
      expect(seen.filter(([t, st]) => t > to + 1000 && st !== 1)).toEqual([]);
      // Shutdown: NOT_SERVING on the health port too during the shutdown delay.
      const stopping = s.handle.shutdown();
      await new Promise((r) => setTimeout(r, 100));
      expect(await h.check("")).toBe("NOT_SERVING");
      await stopping;
    } finally {
      h.close();
      s.client.close();
      await s.handle.shutdown();
    }
  });
});

describe("descriptorSetPath", () => {
  it("finds the descriptor set generated into @servesim/wire", () => {
    expect(descriptorSetPath()).toMatch(/services\/wire\/gen\/servesim\.binpb$/);
  });
});

describe("handleShutdownSignals", () => {
  it("shuts down gracefully on the first signal and forcibly on the second", () => {
    const calls: string[] = [];
    const handle = { shutdown: async (reason?: string) => void calls.push(`shutdown ${reason}`), forceShutdown: () => void calls.push("force") } as Pick<
      ServerHandle,
      "shutdown" | "forceShutdown"
    >;
    const proc = new EventEmitter();
    const off = handleShutdownSignals(handle, createLogger({ name: "t", level: "silent" }), proc);
    proc.emit("SIGTERM", "SIGTERM");
    proc.emit("SIGINT", "SIGINT");
    expect(calls).toEqual(["shutdown received SIGTERM", "force"]);
    off();
    expect(proc.listenerCount("SIGTERM")).toBe(0);
  });
});

describe("createLogger", () => {
  it("writes one JSON object per line with service, level label and ISO time", () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "predictor", level: "info", destination: { write: (l: string) => void lines.push(l) } });
    logger.debug("hidden");
    logger.info({ port: 1 }, "listening");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "info",
      service: "predictor",
      port: 1,
      msg: "listening",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("writes human-readable lines in pretty format", async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "predictor", level: "info", format: "pretty", destination: { write: (l: string) => void lines.push(l) } });
    logger.info("listening");
    await new Promise((r) => setImmediate(r));
    expect(lines.join("")).toMatch(/INFO.*listening/);
    expect(() => JSON.parse(lines.join(""))).toThrow();
  });
});
