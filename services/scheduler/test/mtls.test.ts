/**
 * Mutual TLS with real certificates made by `openssl` here: a CA, a server certificate for
 * localhost/127.0.0.1, client certificates for two tenants, and a client certificate from another CA.
 * Both services require a client certificate signed by their CA (--tls-ca) and take the tenant from its
 * CN (--auth-mtls); the scheduler presents its own client certificate to the predictor. Skips with a
 * message when openssl is absent.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PredictorClient, SchedulerClient } from "@servesim/client";
import { PredictorKind } from "@servesim/wire/predictor";
import { JobState } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineWorkload, jobSpec, startPredictor, startScheduler, type TestPredictor, type TestScheduler, until } from "./harness.js";

const openssl = "/usr/bin/openssl";
const haveOpenssl = existsSync(openssl);
if (!haveOpenssl) console.warn(`mtls.test: ${openssl} not found: mutual TLS with real certificates not tested`);

const dir = mkdtempSync(join(tmpdir(), "servesim-mtls-"));
const file = (name: string) => join(dir, name);
const ssl = (args: string[]) => execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(name: string): void {
  ssl([
    "req",
    "-x509",
    ...EC,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.pem`),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** A leaf certificate `name` signed by `ca`, for a server or a client. */
function makeLeaf(name: string, cn: string, ca: string, usage: "serverAuth" | "clientAuth"): void {
  const ext = file(`${name}.ext`);
  const san = usage === "serverAuth" ? "subjectAltName=DNS:localhost,IP:127.0.0.1\n" : "";
  writeFileSync(ext, `${san}extendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`);
  ssl(["req", ...EC, "-subj", `/CN=${cn}`, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`)]);
  ssl([
    "x509",
    "-req",
    "-in",
    file(`${name}.csr`),
    "-CA",
    file(`${ca}.pem`),
    "-CAkey",
    file(`${ca}.key`),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    file(`${name}.pem`),
  ]);
}

const pem = (name: string) => readFileSync(file(name));
const clientTls = (client?: string) => ({
  ca: pem("ca.pem"),
  ...(client ? { cert: pem(`${client}.pem`), key: pem(`${client}.key`) } : {}),
});
const serverEnv = () => ({
  SERVESIM_TLS_CERT: file("server.pem"),
  SERVESIM_TLS_KEY: file("server.key"),
  SERVESIM_TLS_CA: file("ca.pem"),
  SERVESIM_AUTH_MTLS: "true",
});

let predictor: TestPredictor | undefined;
let scheduler: TestScheduler | undefined;

beforeAll(async () => {
  if (!haveOpenssl) return;
  makeCa("ca");
  makeCa("other-ca");
  makeLeaf("server", "localhost", "ca", "serverAuth");
  makeLeaf("team-a", "team-a", "ca", "clientAuth");
  makeLeaf("team-b", "team-b", "ca", "clientAuth");
  makeLeaf("scheduler", "servesim-scheduler", "ca", "clientAuth");
  makeLeaf("stranger", "team-a", "other-ca", "clientAuth");
  predictor = await startPredictor({ env: serverEnv() });
  scheduler = await startScheduler(`localhost:${predictor.port}`, {
    ...serverEnv(),
    SERVESIM_PREDICTOR_TLS_CA: file("ca.pem"),
    SERVESIM_PREDICTOR_TLS_CERT: file("scheduler.pem"),
    SERVESIM_PREDICTOR_TLS_KEY: file("scheduler.key"),
  });
}, 60_000);

afterAll(async () => {
  await scheduler?.stop();
  await predictor?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const predictorClient = (client?: string) =>
  new PredictorClient({ address: `localhost:${predictor!.port}`, retries: 0, deadlineMs: 10_000, tls: clientTls(client) });
const schedulerClient = (client?: string) =>
  new SchedulerClient({ address: `localhost:${scheduler!.server.port}`, retries: 0, deadlineMs: 10_000, tls: clientTls(client) });

/** A call that fails: its status name (the TLS handshake's refusal surfaces as UNAVAILABLE). */
async function refused(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    return (err as { codeName?: string }).codeName ?? String(err);
  }
  return "accepted";
}

describe.skipIf(!haveOpenssl)("mutual TLS with openssl-made certificates", () => {
  it("predictor: accepts a client certificate from its CA; refuses none and one from another CA", async () => {
    const good = predictorClient("team-a");
    const none = predictorClient();
    const stranger = predictorClient("stranger");
    try {
      expect((await good.listCatalog()).predictors.length).toBeGreaterThan(0);
      expect(await refused(() => none.listCatalog())).toBe("UNAVAILABLE");
      expect(await refused(() => stranger.listCatalog())).toBe("UNAVAILABLE");
    } finally {
      good.close();
      none.close();
      stranger.close();
    }
  });

  it("scheduler: runs a job end to end over mTLS (to the predictor too); the tenant is the certificate's CN; refuses none and another CA's", async () => {
    const a = schedulerClient("team-a");
    const b = schedulerClient("team-b");
    const none = schedulerClient();
    const stranger = schedulerClient("stranger");
    try {
      const job = await a.submitJob(
        jobSpec({
          name: "over-mtls",
          engine: { maxBatchSize: 4, warmup: 0 },
          predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
          workload: inlineWorkload([
            { input: 10, output: 3 },
            { input: 20, output: 2 },
          ]),
        }),
      );
      await until(async () => (await a.getJob(job.id)).state === JobState.JOB_STATE_SUCCEEDED);
      expect((await a.getResult(job.id, { includeRequests: true })).requests.map((r) => r.outputLength)).toEqual([3, 2]);
      // team-b's certificate is valid, but the job is team-a's.
      expect(await refused(() => b.getJob(job.id))).toBe("NOT_FOUND");
      expect(await b.listJobs()).toEqual([]);
      expect(await refused(() => none.listJobs())).toBe("UNAVAILABLE");
      // Same CN as team-a, but signed by a CA the scheduler does not trust.
      expect(await refused(() => stranger.getJob(job.id))).toBe("UNAVAILABLE");
    } finally {
      for (const c of [a, b, none, stranger]) c.close();
    }
  }, 60_000);
});
