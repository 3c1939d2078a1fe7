/**
 * Runs the Python client's unittest suite (clients/python/tests) with Debian's /usr/bin/python3. The
 * suite starts real predictor and scheduler services as child processes. Skipped, with the reason,
 * when python3-grpcio is not installed or the generated Python stubs are missing (`npm run gen`).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, startSchedulerServer } from "@servesim/scheduler-service";
import { createLogger, type ServerHandle } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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

describe.skipIf(reason !== undefined)("docs/client-python.md commands, run exactly as written", () => {
  let predictor: ServerHandle;
  let scheduler: ServerHandle;
  beforeAll(async () => {
    const logger = createLogger({ name: "python-doc", level: "silent" });
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), logger);
    scheduler = await startSchedulerServer(
      loadSchedulerServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` } }),
      logger,
    );
  });
  afterAll(async () => {
    scheduler?.forceShutdown();
    predictor?.forceShutdown();
    await Promise.all([scheduler?.closed, predictor?.closed]);
  });

  /** The shell commands of the doc's bash blocks that run the client (comments dropped). */
  const commands = readFileSync(resolve(repoRoot, "docs/client-python.md"), "utf8")
    .split(/^```bash\n/m)
    .slice(1)
    .map((block) => block.split(/^```/m)[0]!)
    .flatMap((block) => block.split("\n").filter((l) => /python3 (-c|clients\/python\/examples\/)/.test(l)));

  it("the doc has them", () => {
    expect(commands.length).toBeGreaterThanOrEqual(2);
  });

  it.each(commands.map((c) => [c]))("%s", { timeout: 120_000 }, async (command) => {
    // Only the scheduler's address differs from the doc; PATH stays the machine's (whatever python3 it has first).
    const { code, output } = await run("bash", ["-c", command.replace("localhost:50052", `127.0.0.1:${scheduler.port}`)]);
    expect(code, output).toBe(0);
    if (command.includes("submit_job.py")) {
      expect(output).toMatch(/^roofline \(h100_sxm, Llama-3\.1-8B, TP1, bf16\): 20 requests, \d+ iterations$/m);
      expect(output).toMatch(/^TTFT {2}avg [\d.]+ ms {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms$/m);
    } else {
      expect(output.trim()).toBe("0.1.0");
    }
  });
});
