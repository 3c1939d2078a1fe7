import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { JobStore, StoredJob } from "./jobStore.js";
import type { TenantUsage } from "./quotas.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  record TEXT NOT NULL,
  spec BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
  id TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tenant_usage (
  tenant TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  submitted_bytes INTEGER NOT NULL,
  simulated_tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tenant_usage_window ON tenant_usage (tenant, at_ms);
`;

/**
 * The embedded durable store (better-sqlite3): one database file, WAL journal, every write committed
 * before the call that caused it is answered, so a SIGKILL loses nothing that was acknowledged. One
 * scheduler process per file.
 */
export class SqliteJobStore implements JobStore {
  readonly durable = true;
  private readonly db: BetterSqlite3.Database;
  private seq = 0;
  private readonly stmts: {
    put: BetterSqlite3.Statement;
    putOutput: BetterSqlite3.Statement;
    getOutput: BetterSqlite3.Statement;
    del: BetterSqlite3.Statement;
    delOutput: BetterSqlite3.Statement;
    used: BetterSqlite3.Statement;
    charge: BetterSqlite3.Statement;
    prune: BetterSqlite3.Statement;
  };

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const require = createRequire(import.meta.url);
    const Database = require("better-sqlite3") as typeof BetterSqlite3;
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode survives a process crash (SIGKILL); FULL would also survive power loss.
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    this.seq = (this.db.prepare("SELECT COALESCE(MAX(seq), 0) AS s FROM jobs").get() as { s: number }).s;
    this.stmts = {
      put: this.db.prepare(
        "INSERT INTO jobs (id, seq, tenant, record, spec) VALUES (@id, @seq, @tenant, @record, @spec) ON CONFLICT(id) DO UPDATE SET record = excluded.record, spec = excluded.spec",
      ),
      putOutput: this.db.prepare("INSERT OR REPLACE INTO outputs (id, bytes) VALUES (?, ?)"),
      getOutput: this.db.prepare("SELECT bytes FROM outputs WHERE id = ?"),
      del: this.db.prepare("DELETE FROM jobs WHERE id = ?"),
      delOutput: this.db.prepare("DELETE FROM outputs WHERE id = ?"),
      used: this.db.prepare(
        "SELECT COALESCE(SUM(submitted_bytes), 0) AS b, COALESCE(SUM(simulated_tokens), 0) AS t FROM tenant_usage WHERE tenant = ? AND at_ms >= ?",
      ),
      charge: this.db.prepare("INSERT INTO tenant_usage (tenant, at_ms, submitted_bytes, simulated_tokens) VALUES (?, ?, ?, ?)"),
      prune: this.db.prepare("DELETE FROM tenant_usage WHERE at_ms < ?"),
    };
  }

  load(): StoredJob[] {
    const rows = this.db.prepare("SELECT record, spec FROM jobs ORDER BY seq").all() as Array<{ record: string; spec: Buffer }>;
    return rows.map((r) => ({ ...(JSON.parse(r.record) as Omit<StoredJob, "spec">), spec: new Uint8Array(r.spec) }));
  }

  put(job: StoredJob): void {
    const { spec, ...record } = job;
    this.stmts.put.run({ id: job.id, seq: ++this.seq, tenant: job.tenant, record: JSON.stringify(record), spec: Buffer.from(spec) });
  }

  putOutput(id: string, bytes: Uint8Array): void {
    this.stmts.putOutput.run(id, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  getOutput(id: string): Uint8Array | undefined {
    const row = this.stmts.getOutput.get(id) as { bytes: Buffer } | undefined;
    return row ? new Uint8Array(row.bytes) : undefined;
  }

  delete(id: string): void {
    this.db.transaction(() => {
      this.stmts.del.run(id);
      this.stmts.delOutput.run(id);
    })();
  }

  charge(tenant: string, usage: TenantUsage, atMs: number, sinceMs: number, check: (used: TenantUsage) => void): void {
    this.db.transaction(() => {
      const row = this.stmts.used.get(tenant, sinceMs) as { b: number; t: number };
      check({ submittedBytes: row.b, simulatedTokens: row.t });
      this.stmts.charge.run(tenant, atMs, usage.submittedBytes, usage.simulatedTokens);
    })();
  }

  pruneUsage(beforeMs: number): void {
    this.stmts.prune.run(beforeMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
