/** Per-tenant quotas on submitted bytes and simulated tokens: enforced at submission, durable in SQLite, rolling window. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@servesim/server-common";
import { JobSpec } from "@servesim/wire/scheduler";
import { afterAll, describe, expect, it } from "vitest";
import { loadSchedulerServerConfig } from "../src/config.js";
import type { JobExecutor } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";
import { MemoryJobStore } from "../src/jobStore.js";
import { parseQuotaFile, quotaPolicy } from "../src/quotas.js";
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
