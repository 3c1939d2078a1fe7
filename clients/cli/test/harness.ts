/** Runs servesim commands in-process (fast) or as a child process (the real entry point). */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { normalizeArgv } from "../src/argv.js";
import { calibrateCommand } from "../src/commands/calibrate.js";
import { catalogCommand } from "../src/commands/catalog.js";
import { healthCommand } from "../src/commands/health.js";
import { jobsCommand } from "../src/commands/jobs.js";
import { prepareDatasetCommand } from "../src/commands/prepareDataset.js";
import { searchCommand } from "../src/commands/search.js";
import { sweepCommand } from "../src/commands/sweep.js";
import { throughputCommand } from "../src/commands/throughput.js";
import { validateCommand } from "../src/commands/validate.js";
import type { CliIo } from "../src/io.js";

export const repoRoot = resolve(import.meta.dirname, "../../..");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function configure(cmd: Command, out: string[], err: string[]): void {
  cmd.exitOverride().configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  for (const sub of cmd.commands) configure(sub, out, err);
}

/** `servesim <args>` with this package's commands, output captured; commander errors give exit code 2. */
export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } };
  const program = new Command("servesim").enablePositionalOptions();
  for (const c of [
    throughputCommand(io),
    prepareDatasetCommand(io),
    healthCommand(io),
    jobsCommand(io),
    calibrateCommand(io),
    validateCommand(io),
    catalogCommand(io),
    sweepCommand(io),
    searchCommand(io),
  ])
    program.addCommand(c);
  configure(program, out, err);
  let code = 0;
  try {
    await program.parseAsync(normalizeArgv(["node", "servesim", ...args]));
    code = io.exitCode ?? 0;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode === 0 ? 0 : 2;
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** Runs the real CLI entry (clients/cli/src/main.ts) in a child process, TypeScript loaded by test/registerTs.mjs. */
export function spawnCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "./clients/cli/test/registerTs.mjs", "clients/cli/src/main.ts", ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 110_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "servesim-cli-"));

/** A path under the shared data directory: $SERVESIM_SHARED_DIR, else ../shared beside the repository root. */
export function sharedDataPath(...parts: string[]): string {
  return resolve(process.env["SERVESIM_SHARED_DIR"]?.trim() || resolve(repoRoot, "../shared"), ...parts);
}
