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
