/**
 * The gRPC services the benchmark runs against, each in its own process started from the compiled CLI
 * (`servesim serve predictor|scheduler`), on loopback with an OS-assigned port read from the
 * "listening" log line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export interface ServiceProcess {
  name: string;
  address: string;
  /** The dedicated grpc.health.v1 port, when the service was started with one (--health-port). */
  healthPort?: number;
  pid: number;
  /** Peak resident set of the process so far, in bytes (Linux VmHWM), or null elsewhere. */
  peakRss(): number | null;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/** Peak RSS (VmHWM) of a process, from /proc. */
export function processPeakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function waitForListening(child: ChildProcess, name: string): Promise<{ port: number; healthPort?: number }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
    const timer = setTimeout(() => fail(new Error(`${name} did not report "listening" within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      lines.close();
      reject(err);
    };
    child.once("exit", (code) => fail(new Error(`${name} exited with code ${code} before listening: ${stderr.join("").trim()}`)));
    lines.on("line", (line) => {
      let entry: { msg?: string; port?: number; healthPort?: number };
      try {
        entry = JSON.parse(line) as { msg?: string; port?: number; healthPort?: number };
      } catch {
        return;
      }
      if (entry.msg === "listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve({ port: entry.port, ...(typeof entry.healthPort === "number" ? { healthPort: entry.healthPort } : {}) });
        // Keep draining stdout so the service never blocks on a full pipe.
        lines.removeAllListeners("line");
        lines.on("line", () => undefined);
      }
    });
  });
}

/** Starts `servesim serve <service> --host 127.0.0.1 --port 0 …` and waits until it listens. */
export async function startService(cliPath: string, service: string, extraArgs: string[] = []): Promise<ServiceProcess> {
  // BENCH_SERVICE_NODE_ARGS: Node options for the services only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env["BENCH_SERVICE_NODE_ARGS"] ?? "").split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cliPath, "serve", service, "--host", "127.0.0.1", "--port", "0", "--log-level", "info", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { port, healthPort } = await waitForListening(child, `servesim serve ${service}`);
  const pid = child.pid!;
  return {
    name: service,
    address: `127.0.0.1:${port}`,
    ...(healthPort !== undefined ? { healthPort } : {}),
    pid,
    peakRss: () => processPeakRss(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
