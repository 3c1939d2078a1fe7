// deploy/healthcheck.mjs against a real grpc.health.v1 server (plaintext, TLS and mutual TLS).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./render.js";

const SCRIPT = join(REPO_ROOT, "deploy", "healthcheck.mjs");

interface ProbeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function probe(args: string[], env: Record<string, string> = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function startHealthServer(
  health: HealthImplementation,
  credentials = ServerCredentials.createInsecure(),
  port = 0,
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  health.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

/** A port nothing listens on: bind one, then release it. */
async function freePort(): Promise<number> {
  const { server, port } = await startHealthServer(new HealthImplementation());
  server.forceShutdown();
  return port;
}

describe("healthcheck.mjs (plaintext)", () => {
  const health = new HealthImplementation({ "": "SERVING", "servesim.v1.PredictorService": "SERVING", "servesim.v1.SchedulerService": "NOT_SERVING" });
  let server: Server;
  let address: string;

  beforeAll(async () => {
    const s = await startHealthServer(health);
    server = s.server;
    address = `127.0.0.1:${s.port}`;
  });
  afterAll(() => server.forceShutdown());

  it("exits 0 when the server is SERVING", async () => {
    const r = await probe(["--address", address]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("SERVING");
  });

  it("checks a named service", async () => {
    expect((await probe(["--address", address, "--service", "servesim.v1.PredictorService"])).code).toBe(0);
    const notServing = await probe(["--address", address, "--service", "servesim.v1.SchedulerService"]);
    expect(notServing.code).toBe(1);
    expect(notServing.stderr).toContain("NOT_SERVING");
    const unknown = await probe(["--address", address, "--service", "no.such.Service"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("NOT_FOUND");
  });

  it("defaults to 127.0.0.1:$SERVESIM_PORT", async () => {
    expect((await probe([], { SERVESIM_PORT: address.split(":")[1]! })).code).toBe(0);
  });

  it("exits 1 when nothing listens", async () => {
    const r = await probe(["--address", `127.0.0.1:${await freePort()}`, "--timeout-ms", "2000"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("UNAVAILABLE");
  });

  it("with --wait-ms, retries until the server comes up", async () => {
    const port = await freePort();
    const late = new HealthImplementation({ "": "SERVING" });
    const waiting = probe(["--address", `127.0.0.1:${port}`, "--wait-ms", "30000"]);
    const started = new Promise<Server>((resolve) => setTimeout(() => void startHealthServer(late, undefined, port).then((s) => resolve(s.server)), 1500));
    const r = await waiting;
    (await started).forceShutdown();
    expect(r.code, r.stderr).toBe(0);
  });

  it("rejects bad arguments with status 2", async () => {
    expect((await probe(["--no-such-flag"])).code).toBe(2);
    expect((await probe(["--timeout-ms", "soon"])).code).toBe(2);
  });
});

const HAS_OPENSSL = existsSync("/usr/bin/openssl");
if (!HAS_OPENSSL) console.warn("/usr/bin/openssl not found: skipping the TLS healthcheck tests");

describe.skipIf(!HAS_OPENSSL)("healthcheck.mjs (TLS)", () => {
  const dir = mkdtempSync(join(tmpdir(), "servesim-tls-"));
  const file = (name: string) => join(dir, name);
  const servers: Server[] = [];

  beforeAll(() => {
    const openssl = (args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "pipe" });
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=servesim test CA", "-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=predictor", "-keyout", "tls.key", "-out", "tls.csr"]);
    writeFileSync(file("ext.cnf"), "subjectAltName=DNS:predictor\n");
    openssl(["x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "tls.pem"]);
  });
  afterAll(() => {
    for (const s of servers) s.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsEnv = () => ({ SERVESIM_TLS_CERT: file("tls.pem"), SERVESIM_TLS_KEY: file("tls.key"), SERVESIM_TLS_CA: file("ca.pem") });
  const keyPair = () => [{ private_key: readFileSync(file("tls.key")), cert_chain: readFileSync(file("tls.pem")) }];

  it("speaks TLS when SERVESIM_TLS_CERT is set, verifying the chain against SERVESIM_TLS_CA", async () => {
    const { server, port } = await startHealthServer(new HealthImplementation({ "": "SERVING" }), ServerCredentials.createSsl(null, keyPair(), false));
    servers.push(server);
    const r = await probe(["--address", `127.0.0.1:${port}`], tlsEnv());
    expect(r.code, r.stderr).toBe(0);
    expect((await probe(["--address", `127.0.0.1:${port}`, "--tls-server-name", "predictor"], tlsEnv())).code).toBe(0);
    expect((await probe(["--address", `127.0.0.1:${port}`, "--tls-server-name", "someone-else"], tlsEnv())).code).toBe(1);
    expect((await probe(["--address", `127.0.0.1:${port}`, "--timeout-ms", "2000"])).code).toBe(1);
  });

  it("presents the service's certificate to a server that requires client certificates", async () => {
    const ca = readFileSync(file("ca.pem"));
    const { server, port } = await startHealthServer(new HealthImplementation({ "": "SERVING" }), ServerCredentials.createSsl(ca, keyPair(), true));
    servers.push(server);
    expect((await probe(["--address", `127.0.0.1:${port}`], tlsEnv())).code).toBe(0);
    const { SERVESIM_TLS_CA: _ca, ...withoutCa } = tlsEnv();
    expect((await probe(["--address", `127.0.0.1:${port}`, "--timeout-ms", "2000"], withoutCa)).code).toBe(1);
  });
});
