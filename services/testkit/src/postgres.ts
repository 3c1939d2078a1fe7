import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./testPredictor.js";

/** A PostgreSQL server tests can create databases in. */
export interface TestPostgres {
  /** Connection URL of a fresh database (dropped by close). */
  url: string;
  /** A database on the running server, or the test's own throwaway cluster. */
  kind: "server" | "throwaway";
  close(): Promise<void>;
}

function reachable(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
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
export function sql(url: string, statement: string): void {
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

/** The running server tests try first (SERVESIM_TEST_PG_URL: an admin URL on 127.0.0.1 with trust auth). */
export const DEFAULT_TEST_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/**
 * A fresh database on the PostgreSQL at `adminUrl` (default SERVESIM_TEST_PG_URL, else 127.0.0.1:5432
 * with trust auth, database `test`), or on a throwaway cluster started from Debian's postgresql
 * binaries when nothing answers there. Undefined (the caller skips with a message) when neither is
 * available. Nothing running on the machine is stopped: the throwaway cluster is the test's own.
 */
export async function testPostgres(adminUrl = process.env["SERVESIM_TEST_PG_URL"] ?? DEFAULT_TEST_PG_URL): Promise<TestPostgres | undefined> {
  const name = `servesim_${process.pid}_${Date.now().toString(36)}`;
  const target = new URL(adminUrl);
  if (await reachable(Number(target.port || 5432), target.hostname)) {
    const admin = adminUrl;
    try {
      sql(admin, `CREATE DATABASE ${name}`);
      const url = admin.replace(/\/[^/]*$/, `/${name}`);
      return {
        url,
        kind: "server",
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
  const port = await freePort();
  const server = spawn(...run(join(bin, "postgres"), ["-D", join(dir, "data"), "-p", String(port), "-k", dir, "-h", "127.0.0.1"]), { stdio: "ignore" });
  const exited = new Promise((r) => server.once("exit", r));
  const close = async () => {
    // pg_ctl, not a signal to the child: as root the child is runuser, which does not pass SIGINT on.
    if (server.exitCode === null && server.signalCode === null) {
      try {
        execFileSync(...run(join(bin, "pg_ctl"), ["stop", "-D", join(dir, "data"), "-m", "fast", "-w"]), { stdio: "ignore", timeout: 30_000 });
      } catch {
        server.kill("SIGKILL");
      }
    }
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  let up = false;
  for (let i = 0; i < 150 && !up && server.exitCode === null; i++) {
    up = await reachable(port);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) {
    await close();
    return undefined;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, kind: "throwaway", close };
}
