import { Worker } from "node:worker_threads";

/**
 * Node flags for a worker thread: this process's, without export conditions. Tests run the sources with
 * `--conditions source`; a worker loads the compiled script and must import the compiled packages.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === "--conditions" || a === "-C") i++;
    else if (!a.startsWith("--conditions=")) out.push(a);
  }
  return out;
}

/**
 * Where a package's worker script is, seen from the module that starts it (`callerUrl`, its
 * import.meta.url): next to the caller when it is compiled (or bundled), in the package's dist/ when the
 * caller runs from source (a .ts file in src/).
 */
export function workerScriptUrl(callerUrl: string, script: string): URL {
  return new URL(callerUrl.endsWith(".ts") ? `../dist/${script}` : `./${script}`, callerUrl);
}

/**
 * Starts the worker thread that runs `script` (the compiled file name, e.g. "worker.js") of the caller's
 * package, with `workerData`. The scheduler's job and workload workers and the sweep's pool start theirs
 * here, and server-common its health thread.
 */
export function startWorker(callerUrl: string, script: string, workerData: unknown): Worker {
  return new Worker(workerScriptUrl(callerUrl, script), { workerData, execArgv: workerExecArgv() });
}
