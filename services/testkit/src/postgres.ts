import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PostgreSQL server tests can create databases in. */
export interface TestPostgres {
  /** Connection URL of a fresh database (dropped by close). */
  url: string;
  close(): Promise<void>;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.end();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Runs one SQL statement in a child Node process: the pg driver is CommonJS, and test runners that
 * resolve with the "import" condition cannot load it in-process.
 */
function sql(url: string, statement: string): void {
  const script = `const pg=require("pg");(async()=>{const c=new pg.Client({connectionString:process.argv[1]});await c.connect();try{await c.query(process.argv[2])}finally{await c.end()}})().catch(e=>{console.error(e.message);process.exit(1)})`;
  execFileSync(process.execPath, ["-e", script, url, statement], { stdio: ["ignore", "ignore", "pipe"], cwd: repoRoot, timeout: 30_000 });
}

const repoRoot = join(import.meta.dirname, "..", "..", "..");

/** Debian's server binaries (postgresql package), newest version first. */
function debianBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
    const bin = join(root, v, "bin");
    if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "postgres"))) return bin;
  }
  return undefined;
}

/**
 * A fresh database on the PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`), or on a throwaway
 * cluster started from Debian's postgresql binaries when none runs there. Undefined (the caller skips
 * with a message) when neither is available.
 */
export async function testPostgres(): Promise<TestPostgres | undefined> {
  const name = `servesim_${process.pid}_${Date.now().toString(36)}`;
  if (await reachable(5432)) {
    const admin = process.env["SERVESIM_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
    try {
      sql(admin, `CREATE DATABASE ${name}`);
      const url = admin.replace(/\/[^/]*$/, `/${name}`);
      return {
        url,
        close: async () => sql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      };
    } catch {
      // fall through to a throwaway cluster
    }
  }
  const bin = debianBin();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "servesim-pg-"));
  // The server refuses to run as root: as root, run it as the postgres user the package creates.
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args]);
  try {
    if (asRoot) execFileSync("chown", ["postgres", dir]);
    execFileSync(...run(join(bin, "initdb"), ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres"]), { stdio: "ignore" });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const port = 15432 + (process.pid % 1000);
  const server = spawn(...run(join(bin, "postgres"), ["-D", join(dir, "data"), "-p", String(port), "-k", dir, "-h", "127.0.0.1"]), { stdio: "ignore" });
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 100));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async close() {
      server.kill("SIGINT");
      await new Promise((r) => server.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
