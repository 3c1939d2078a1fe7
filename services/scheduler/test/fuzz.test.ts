/**
 * Fuzz and fault suite (seeded, bounded): raw protobuf bytes and extreme values at every RPC of both
 * services, hostile paths, cross-tenant access. It asserts what a client may see: a status with a
 * known code, never INTERNAL/UNKNOWN, never a hang past the deadline, never a server file's content.
 */

import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { type Client, credentials, Metadata, makeGenericClientConstructor, status } from "@grpc/grpc-js";
import { PredictorKind, PredictorServiceService } from "@servesim/wire/predictor";
import { SchedulerServiceService } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineWorkload, jobSpec, startPredictor, startScheduler, type TestPredictor, type TestScheduler } from "./harness.js";

/** SERVESIM_FUZZ_CASES scales the run (`make soak` sets a large one). */
const CASES = Number(process.env["SERVESIM_FUZZ_CASES"] ?? 60);
const ALLOWED = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED, status.ALREADY_EXISTS]);

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(r: () => number, max = 64): Buffer {
  const n = Math.floor(r() * max);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** A raw client: requests are bytes as given, responses bytes. */
function rawClient(address: string): Client {
  const Ctor = makeGenericClientConstructor({}, "raw");
  return new Ctor(address, credentials.createInsecure());
}

interface Outcome {
  code: number;
  details: string;
}

function unaryRaw(client: Client, path: string, bytes: Buffer, deadlineMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err) => resolve(err ? { code: err.code ?? -1, details: err.details ?? "" } : { code: status.OK, details: "" }),
    );
  });
}

function serverStreamRaw(client: Client, path: string, bytes: Buffer, deadlineMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
    );
    call.on("data", () => {});
    call.on("error", (err: { code: number; details: string }) => resolve({ code: err.code, details: err.details }));
    call.on("end", () => resolve({ code: status.OK, details: "" }));
  });
}

function duplexRaw(client: Client, path: string, messages: Buffer[], deadlineMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
    );
    call.on("data", () => {});
    call.on("error", (err: { code: number; details: string }) => resolve({ code: err.code, details: err.details }));
    call.on("end", () => resolve({ code: status.OK, details: "" }));
    for (const m of messages) call.write(m);
    call.end();
  });
}

function clientStreamRaw(client: Client, path: string, messages: Buffer[], deadlineMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err) => resolve(err ? { code: err.code ?? -1, details: err.details ?? "" } : { code: status.OK, details: "" }),
    );
    for (const m of messages) call.write(m);
    call.end();
  });
}

let predictor: TestPredictor;
let scheduler: TestScheduler;
let praw: Client;
let sraw: Client;

beforeAll(async () => {
  predictor = await startPredictor();
  scheduler = await startScheduler(predictor.address);
  praw = rawClient(predictor.address);
  sraw = rawClient(`127.0.0.1:${scheduler.server.port}`);
});
afterAll(async () => {
  praw?.close();
  sraw?.close();
  await scheduler?.stop();
  await predictor?.kill();
});

function expectAllowed(o: Outcome, what: string): void {
  if (!ALLOWED.has(o.code)) throw new Error(`${what}: unexpected ${status[o.code] ?? o.code}: ${o.details}`);
  expect(o.details.length).toBeLessThan(1200);
  expect(o.details).not.toMatch(/root:|\/bin\/bash|at .*\.js:\d+/);
}

describe("raw-byte fuzzing of every RPC", () => {
  it("answers every random message of every method with a known status (seeded)", async () => {
    const r = rng(20261203);
    for (const [service, client] of [
      [PredictorServiceService, () => praw],
      [SchedulerServiceService, () => sraw],
    ] as const) {
      for (const method of Object.values(service)) {
        for (let i = 0; i < CASES; i++) {
          const bytes = randomBytes(r);
          let o: Outcome;
          if (method.requestStream && method.responseStream) o = await duplexRaw(client(), method.path, [bytes, randomBytes(r)]);
          else if (method.requestStream) o = await clientStreamRaw(client(), method.path, [bytes, randomBytes(r)]);
          else if (method.responseStream) o = await serverStreamRaw(client(), method.path, bytes);
          else o = await unaryRaw(client(), method.path, bytes);
          expectAllowed(o, `${method.path} case ${i} (${bytes.toString("hex")})`);
        }
      }
    }
  }, 300_000);

  it("names the field of an int64 beyond 2^53 and of truncated bytes", async () => {
    // SubmitJobRequest.spec(1).workload(4).synthetic(3).seed(11) = 2^60.
    const synthetic = new BinaryWriter()
      .uint32((11 << 3) | 0)
      .uint64(2n ** 60n)
      .finish();
    const workload = new BinaryWriter()
      .uint32((3 << 3) | 2)
      .bytes(synthetic)
      .finish();
    const spec = new BinaryWriter()
      .uint32((4 << 3) | 2)
      .bytes(workload)
      .finish();
    const req = Buffer.from(
      new BinaryWriter()
        .uint32((1 << 3) | 2)
        .bytes(spec)
        .finish(),
    );
    const o = await unaryRaw(sraw, SchedulerServiceService.submitJob.path, req);
    expect(o).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "spec.workload.synthetic.seed: must be within ±2^53 (9007199254740991) (got 1152921504606846976)",
    });
    const truncated = await unaryRaw(praw, PredictorServiceService.predict.path, Buffer.from([0x0a, 0x20, 0x01]));
    expect(truncated.code).toBe(status.INVALID_ARGUMENT);
    expect(truncated.details).toMatch(/^config: is not a valid servesim\.v1\.PredictRequest protobuf encoding/);
  });

  it("PredictStream answers a stream whose second message is undecodable with INVALID_ARGUMENT", async () => {
    // message 0: config { kind: CONSTANT (1) }; message 1: a truncated length-delimited field.
    const config = Buffer.from(
      new BinaryWriter()
        .uint32((1 << 3) | 2)
        .bytes(new BinaryWriter().uint32(8).uint32(1).finish())
        .finish(),
    );
    const o = await duplexRaw(praw, PredictorServiceService.predictStream.path, [config, Buffer.from([0x12, 0x7f])]);
    expect(o.code).toBe(status.INVALID_ARGUMENT);
    expect(o.details).toMatch(/^message\[1\]\.batch: is not a valid servesim\.v1\.PredictStreamRequest protobuf encoding/);
  });
});

describe("ListJobs pages under hostile tokens (seeded)", () => {
  it("random, mutated and oversized page tokens and page sizes: OK or INVALID_ARGUMENT naming page_token, never another status", async () => {
    const r = rng(20261204);
    const client = scheduler.client;
    for (let i = 0; i < 3; i++) {
      await client.submitJob(
        jobSpec({
          name: `fuzz-page-${i}`,
          predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 1, constantDecodeTimeMs: 1 },
          workload: inlineWorkload([{ input: 4, output: 2 }]),
        }),
      );
    }
    const real = (await client.listJobsPage([], { pageSize: 1 })).nextPageToken;
    expect(real).not.toBe("");
    const mutate = (t: string) => {
      const chars = [...t];
      const at = Math.floor(r() * Math.max(1, chars.length));
      chars[at] = String.fromCharCode(32 + Math.floor(r() * 95));
      return chars.join("");
    };
    for (let i = 0; i < CASES; i++) {
      const kind = i % 4;
      const pageToken =
        kind === 0 ? randomBytes(r, 80).toString("base64url") : kind === 1 ? mutate(real) : kind === 2 ? `${real}${"=".repeat(Math.floor(r() * 600))}` : real;
      const pageSize = Math.floor(r() * 2 ** 32);
      const req = Buffer.from(
        new BinaryWriter()
          .uint32((2 << 3) | 0)
          .uint32(pageSize)
          .uint32((3 << 3) | 2)
          .string(pageToken)
          .finish(),
      );
      const o = await unaryRaw(sraw, SchedulerServiceService.listJobs.path, req);
      expectAllowed(o, `ListJobs page_token ${JSON.stringify(pageToken.slice(0, 80))}`);
      if (o.code !== status.OK) expect(o.details).toMatch(/^page_token: is not a token this scheduler issued/);
      if (kind === 3) expect(o.code).toBe(status.OK);
    }
  }, 120_000);
});

describe("hostile paths", () => {
  const predictPath = PredictorServiceService.describePredictor.path;
  /** DescribePredictorRequest { config { kind: ROOFLINE (2), model { name: llama-3.1-8b }, gpu { name } } }. */
  function describeWithGpu(gpu: string): Buffer {
    const model = new BinaryWriter()
      .uint32((1 << 3) | 2)
      .string("llama-3.1-8b")
      .finish();
    const gpuRef = new BinaryWriter()
      .uint32((1 << 3) | 2)
      .string(gpu)
      .finish();
    const config = new BinaryWriter()
      .uint32(8)
      .uint32(2)
      .uint32((9 << 3) | 2)
      .bytes(model)
      .uint32((10 << 3) | 2)
      .bytes(gpuRef)
      .finish();
    return Buffer.from(
      new BinaryWriter()
        .uint32((1 << 3) | 2)
        .bytes(config)
        .finish(),
    );
  }

  it.each(["/dev/zero", "/dev/stdin", "/etc/shadow", "/etc/group", "/proc/self/environ", "/no/such.yaml", "../../../../etc/passwd"])(
    "gpu.name %s is INVALID_ARGUMENT without content or existence",
    async (path) => {
      const o = await unaryRaw(praw, predictPath, describeWithGpu(path), 5_000);
      expect(o).toEqual({
        code: status.INVALID_ARGUMENT,
        details: "config.gpu: is not a readable path inside the server's data roots (SERVESIM_DATA_ROOT)",
      });
    },
  );
});
