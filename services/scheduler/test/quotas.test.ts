/** Per-tenant quotas on submitted bytes and simulated tokens: enforced at submission, durable in SQLite, rolling window. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { createAuthenticator, silentLogger } from "@servesim/server-common";
import { JobSpec } from "@servesim/wire/scheduler";
import { afterAll, describe, expect, it } from "vitest";
import { loadSchedulerServerConfig } from "../src/config.js";
import type { JobExecutor } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";
import { MemoryJobStore } from "../src/jobStore.js";
import { MemoryUsageLedger, parseQuotaFile, quotaPolicy } from "../src/quotas.js";
import { SqliteJobStore } from "../src/sqliteJobStore.js";

const dir = mkdtempSync(join(tmpdir(), "servesim-quota-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A job's simulated tokens are in its name ("t<n>"); runs stay pending until shutdown. */
const executor: JobExecutor = {
  prepare: async (spec) => ({ name: spec.name, requestsTotal: 1, simulatedTokens: Number(/^t(\d+)/.exec(spec.name)?.[1] ?? 0) }),
  run: (_job, control) => new Promise((_, reject) => control.signal.addEventListener("abort", () => reject(control.signal.reason))),
};

const manager = (store = new MemoryJobStore() as MemoryJobStore | SqliteJobStore, perTenant = new Map()) =>
  new JobManager(executor, {
    store,
    maxConcurrentJobs: 1,
    maxQueuedJobs: 100,
    maxStoredJobs: 100,
    resultTtlMs: 3_600_000,
    logger: silentLogger(),
    quota: quotaPolicy(3_600_000, { simulatedTokens: 1000, submittedBytes: 100 }, perTenant),
  });

const spec = (name: string, modelPath = "") => JobSpec.fromPartial({ name, modelPath });
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: Error & { code?: number }) => `${e.name}: ${e.message}`,
  );

describe("tenant quotas", () => {
  it("simulated tokens: the job that would go over is RESOURCE_EXHAUSTED naming the quota; other tenants are apart; a retried request_id is not charged twice", async () => {
    const m = manager();
    await m.submit(spec("t600"), "r1", undefined, "team-a");
    expect((await m.submit(spec("t600"), "r1", undefined, "team-a")).name).toBe("t600");
    await m.submit(spec("t400"), undefined, undefined, "team-a");
    expect(await refusal(m.submit(spec("t1"), undefined, undefined, "team-a"))).toBe(
      "ResourceExhaustedError: tenant team-a quota simulated_tokens exceeded: this job needs 1, 1000 of 1000 already used in the last 1 h (SERVESIM_TENANT_MAX_SIMULATED_TOKENS); retry once older jobs leave the window, or submit a smaller job",
    );
    expect(await refusal(m.submit(spec("t1000"), undefined, undefined, "team-b"))).toBe("accepted");
    await m.shutdown();
  });

  it("submitted bytes: the spec's encoded bytes count", async () => {
    const m = manager();
    // name (2 + 3 bytes) + model_path (2 + 40 bytes) = 47 bytes each: two fit in 100, the third does not.
    const big = (n: string) => spec(n, "x".repeat(40));
    await m.submit(big("t00"), undefined, undefined, "team-a");
    await m.submit(big("t01"), undefined, undefined, "team-a");
    expect(await refusal(m.submit(big("t02"), undefined, undefined, "team-a"))).toMatch(
      /^ResourceExhaustedError: tenant team-a quota submitted_bytes exceeded: this job needs 47, 94 of 100 already used .*SERVESIM_TENANT_MAX_SUBMITTED_BYTES/,
    );
    await m.shutdown();
  });

  it("SQLite: the charges survive a restart, and they outlive the jobs (dropped or cancelled)", async () => {
    const file = join(dir, "jobs.db");
    const first = manager(new SqliteJobStore(file));
    const job = await first.submit(spec("t900"), undefined, undefined, "team-a");
    await first.cancel(job.id, "test", "team-a");
    await first.shutdown();
    const second = manager(new SqliteJobStore(file));
    await second.restore();
    expect(await refusal(second.submit(spec("t200"), undefined, undefined, "team-a"))).toMatch(
      /quota simulated_tokens exceeded: this job needs 200, 900 of 1000/,
    );
    expect(await refusal(second.submit(spec("t100"), undefined, undefined, "team-a"))).toBe("accepted");
    await second.shutdown();
  });

  it("the window rolls: charges older than the window no longer count", () => {
    for (const store of [new MemoryJobStore(), new SqliteJobStore(join(dir, "window.db"))]) {
      const seen: number[] = [];
      store.charge("t", { submittedBytes: 1, simulatedTokens: 10 }, 1_000, 0, () => undefined);
      store.charge("t", { submittedBytes: 1, simulatedTokens: 20 }, 5_000, 0, () => undefined);
      store.charge("u", { submittedBytes: 1, simulatedTokens: 40 }, 5_000, 0, () => undefined);
      store.charge("t", { submittedBytes: 0, simulatedTokens: 0 }, 6_000, 2_000, (used) => void seen.push(used.simulatedTokens));
      store.pruneUsage(5_500);
      store.charge("t", { submittedBytes: 0, simulatedTokens: 0 }, 7_000, 0, (used) => void seen.push(used.simulatedTokens));
      expect(seen).toEqual([20, 0]);
      store.close();
    }
  });

  it("the quota file overrides the defaults per tenant and for *; bad lines name the line", () => {
    const per = parseQuotaFile("# quotas\nteam-a simulated_tokens=5000\n* submitted_bytes=10\nteam-b simulated_tokens=unlimited  # no limit\n", "f");
    const policy = quotaPolicy(1000, { simulatedTokens: 100, submittedBytes: 1000 }, per);
    expect(policy.quotaOf("team-a")).toEqual({ simulatedTokens: 5000, submittedBytes: 10 });
    expect(policy.quotaOf("team-b")).toEqual({ simulatedTokens: Number.POSITIVE_INFINITY, submittedBytes: 10 });
    expect(policy.quotaOf("team-c")).toEqual({ simulatedTokens: 100, submittedBytes: 10 });
    expect(() => parseQuotaFile("team-a tokens=5", "f")).toThrow(/line 1: expected submitted_bytes=<n> or simulated_tokens=<n>/);
    expect(() => parseQuotaFile("\n/etc simulated_tokens=5", "f")).toThrow(/line 2: "\/etc" is not a tenant name/);
    const config = loadSchedulerServerConfig({ env: { SERVESIM_TENANT_MAX_SIMULATED_TOKENS: "7", SERVESIM_TENANT_QUOTA_WINDOW_MS: "60000" } });
    expect(config.quota.windowMs).toBe(60_000);
    expect(config.quota.quotaOf("x")).toEqual({ simulatedTokens: 7, submittedBytes: 64 * 1024 ** 3 });
  });
});

describe("tenant quotas from JWT claims", () => {
  it("a signed token's quota claims override the quota file and the defaults for its caller; a malformed claim is PERMISSION_DENIED", async () => {
    const { SignJWT, exportJWK, generateKeyPair } = await import("jose");
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwks = join(dir, "quota-jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] }));
    const quotas = join(dir, "quota-claims.txt");
    writeFileSync(quotas, "team-a simulated_tokens=500\n");
    const config = loadSchedulerServerConfig({
      env: {
        SERVESIM_AUTH_JWKS_FILE: jwks,
        SERVESIM_AUTH_JWT_ISSUER: "https://issuer.test",
        SERVESIM_TENANT_QUOTA_FILE: quotas,
        SERVESIM_TENANT_MAX_SIMULATED_TOKENS: "1000",
        SERVESIM_TENANT_QUOTA_JWT_CLAIMS: "simulated_tokens=servesim/tokens,submitted_bytes=servesim/bytes",
      },
    });
    expect(config.quota.claimNames).toEqual(["servesim/tokens", "servesim/bytes"]);
    const auth = createAuthenticator(config, config.quota.claimNames);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer("https://issuer.test")
        .setSubject("alice")
        .setExpirationTime("5m")
        .sign(privateKey);
    const principal = async (claims: Record<string, unknown>) => {
      const md = new Metadata();
      md.set("authorization", `Bearer ${await sign(claims)}`);
      return auth.authenticate({ metadata: md });
    };
    const withClaim = await principal({ tenant: "team-a", "servesim/tokens": 300, other: "not kept" });
    expect(withClaim).toEqual({ tenant: "team-a", subject: "jwt:alice", claims: { "servesim/tokens": 300 } });
    const plain = await principal({ tenant: "team-a" });
    expect(plain).toEqual({ tenant: "team-a", subject: "jwt:alice" });
    expect(config.quota.quotaOf("team-a", withClaim.claims)).toEqual({ simulatedTokens: 300, submittedBytes: 64 * 1024 ** 3 });
    expect(config.quota.quotaOf("team-a", plain.claims)).toEqual({ simulatedTokens: 500, submittedBytes: 64 * 1024 ** 3 });
    expect(config.quota.quotaOf("team-b", (await principal({ tenant: "team-b", "servesim/bytes": "unlimited", "servesim/tokens": "2000" })).claims)).toEqual({
      simulatedTokens: 2000,
      submittedBytes: Number.POSITIVE_INFINITY,
    });

    const m = new JobManager(executor, {
      maxConcurrentJobs: 1,
      maxQueuedJobs: 100,
      maxStoredJobs: 100,
      resultTtlMs: 3_600_000,
      logger: silentLogger(),
      quota: config.quota,
    });
    await m.submit(spec("t200"), undefined, undefined, "team-a", withClaim.claims);
    expect(await refusal(m.submit(spec("t200"), undefined, undefined, "team-a", withClaim.claims))).toMatch(
      /^ResourceExhaustedError: tenant team-a quota simulated_tokens exceeded: this job needs 200, 200 of 300 already used/,
    );
    // The same tenant with a token without the claim: the quota file's 500.
    expect(await refusal(m.submit(spec("t300"), undefined, undefined, "team-a", plain.claims))).toBe("accepted");
    expect(await refusal(m.submit(spec("t1"), undefined, undefined, "team-a", plain.claims))).toMatch(/needs 1, 500 of 500 already used/);
    for (const bad of [-1, 1.5, "12k", true, { n: 1 }]) {
      const p = await principal({ tenant: "team-a", "servesim/tokens": bad });
      expect(await refusal(m.submit(spec("t1"), undefined, undefined, "team-a", p.claims))).toBe(
        "PermissionDeniedError: the token's servesim/tokens claim (quota simulated_tokens) must be a non-negative integer or \"unlimited\"; ask the token's issuer to fix it",
      );
    }
    await m.shutdown();
    expect(() => loadSchedulerServerConfig({ env: { SERVESIM_TENANT_QUOTA_JWT_CLAIMS: "tokens=x" } })).toThrow(
      /SERVESIM_TENANT_QUOTA_JWT_CLAIMS \(--tenant-quota-jwt-claims\): expected simulated_tokens=<claim>,submitted_bytes=<claim>, got "tokens=x"/,
    );
  });

  it("the in-memory ledger keeps running sums per tenant: exact over many charges as the window moves", () => {
    const ledger = new MemoryUsageLedger();
    for (let i = 0; i < 5000; i++) ledger.add(i % 2 === 0 ? "a" : "b", i, { submittedBytes: 1, simulatedTokens: i });
    // Tenant a: even i in [3000, 5000) → 1000 charges, tokens 3000 + 3002 + … + 4998.
    expect(ledger.used("a", 3000)).toEqual({ submittedBytes: 1000, simulatedTokens: 3_999_000 });
    expect(ledger.used("b", 4990)).toEqual({ submittedBytes: 5, simulatedTokens: 4991 + 4993 + 4995 + 4997 + 4999 });
    ledger.prune(4999);
    expect(ledger.used("a", 0)).toEqual({ submittedBytes: 0, simulatedTokens: 0 });
    expect(ledger.used("b", 0)).toEqual({ submittedBytes: 1, simulatedTokens: 4999 });
    expect(ledger.used("c", 0)).toEqual({ submittedBytes: 0, simulatedTokens: 0 });
  });
});
