/**
 * The dedicated health port's thread: grpc.health.v1 alone, on a port of its own, answered from this
 * thread's event loop, so a Check waits for no backlog of the service's calls. The statuses are the
 * main thread's (it posts each change), and the main thread posts a heartbeat from its event loop: once
 * no heartbeat came for `stallMs`, every status reads NOT_SERVING until one comes again. A frozen
 * service therefore still fails its probes here, while a merely busy one answers them at once.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { FromHealthWorker, HealthWorkerInit, ToHealthWorker } from "./healthPort.js";

const init = workerData as HealthWorkerInit;
const post = (m: FromHealthWorker) => parentPort!.postMessage(m);
const wanted = new Map<string, ServingStatus>(init.names.map((n) => [n, "NOT_SERVING"]));
const impl = new HealthImplementation(Object.fromEntries(wanted));
let lastBeat = performance.now();
let stalled = false;

function apply(): void {
  for (const [name, status] of wanted) impl.setStatus(name, stalled ? "NOT_SERVING" : status);
}

const watchdog = setInterval(
  () => {
    const now = performance.now() - lastBeat > init.stallMs;
    if (now !== stalled) {
      stalled = now;
      apply();
    }
  },
  Math.max(10, Math.min(250, init.stallMs / 4)),
);

const server = new Server();
impl.addToServer(server);

parentPort!.on("message", (m: ToHealthWorker) => {
  // Any message shows the main thread's event loop turning.
  lastBeat = performance.now();
  if (stalled) {
    stalled = false;
    apply();
  }
  if (m.type === "status") {
    for (const [name, status] of Object.entries(m.statuses)) wanted.set(name, status);
    apply();
  } else if (m.type === "stop") {
    clearInterval(watchdog);
    server.forceShutdown();
    parentPort!.close();
  }
});

server.bindAsync(`${init.host}:${init.port}`, ServerCredentials.createInsecure(), (err, port) => {
  post(err ? { type: "error", message: err.message } : { type: "listening", port });
});
