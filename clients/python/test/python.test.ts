/**
 * Runs the Python client's unittest suite (clients/python/tests) with Debian's /usr/bin/python3. The
 * suite starts real predictor and scheduler services as child processes. Skipped, with the reason,
 * when python3-grpcio is not installed or the generated Python stubs are missing (`npm run gen`).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const PYTHON = "/usr/bin/python3";
const STUBS = resolve(repoRoot, "clients/python/servesim_client/gen/servesim/v1/scheduler_pb2.py");

function skipReason(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const grpc = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf"], { encoding: "utf8" });
  if (grpc.status !== 0) return `${PYTHON} cannot import grpc (apt-get install python3-grpcio python3-protobuf): ${grpc.stderr.trim().split("\n").pop()}`;
  if (!existsSync(STUBS)) return `the Python stubs are missing (${STUBS}); run \`npm run gen\` with protobuf-compiler and protobuf-compiler-grpc installed`;
  return undefined;
}

const reason = skipReason();
if (reason) console.warn(`clients/python tests skipped: ${reason}`);

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}

describe.skipIf(reason !== undefined)("Python client (clients/python/tests, unittest)", () => {
  it("passes against real predictor and scheduler services", { timeout: 600_000 }, async () => {
    const { code, output } = await run(PYTHON, ["-m", "unittest", "discover", "-s", "clients/python/tests", "-v"]);
    const ran = /^Ran (\d+) tests? in /m.exec(output);
    const failures = output.split("\n").filter((l) => / \.\.\. (FAIL|ERROR)$/.test(l) || /^(FAIL|ERROR): /.test(l));
    expect(failures, output).toEqual([]);
    expect(code, output).toBe(0);
    expect(ran, output).not.toBeNull();
    expect(Number(ran![1])).toBeGreaterThanOrEqual(40);
    expect(output).toMatch(/^OK( \(skipped=\d+\))?$/m);
  });
});
