import type { Worker } from "node:worker_threads";
import { startWorker } from "@servesim/core";
import type { ServingStatus } from "grpc-health-check";

/** What the health thread is started with. */
export interface HealthWorkerInit {
  host: string;
  port: number;
  names: string[];
  stallMs: number;
}
export type ToHealthWorker = { type: "beat" } | { type: "status"; statuses: Record<string, ServingStatus> } | { type: "stop" };
export type FromHealthWorker = { type: "listening"; port: number } | { type: "error"; message: string };

/** How often the main thread tells the health thread its event loop turns. */
const BEAT_MS = 100;

/**
 * grpc.health.v1 on a dedicated port (--health-port), served by a worker thread (healthWorker.ts) with
 * the statuses this thread sets, NOT_SERVING while this thread's event loop has not turned for
 * `stallMs`. Plaintext and without authentication, like orchestrators' gRPC probes: it serves nothing
 * but health.
 */
export class HealthPort {
  private readonly beat: NodeJS.Timeout;

  private constructor(
    private readonly worker: Worker,
    readonly port: number,
  ) {
    this.send({ type: "beat" });
    this.beat = setInterval(() => this.send({ type: "beat" }), BEAT_MS);
    this.beat.unref();
  }

  static async start(init: HealthWorkerInit): Promise<HealthPort> {
    const worker = startWorker(import.meta.url, "healthWorker.js", init);
    worker.unref();
    const port = await new Promise<number>((resolve, reject) => {
      worker.once("message", (m: FromHealthWorker) => (m.type === "listening" ? resolve(m.port) : reject(new Error(m.message))));
      worker.once("error", reject);
    }).catch(async (err: Error) => {
      await worker.terminate();
      throw new Error(`cannot serve health on ${init.host}:${init.port}: ${err.message}`);
    });
    return new HealthPort(worker, port);
  }

  setStatuses(statuses: Record<string, ServingStatus>): void {
    this.send({ type: "status", statuses });
  }

  async stop(): Promise<void> {
    clearInterval(this.beat);
    this.send({ type: "stop" });
    await this.worker.terminate();
  }

  private send(m: ToHealthWorker): void {
    this.worker.postMessage(m);
  }
}
