/** Real predictor servers on loopback ephemeral ports, shared by the predictor, scheduler and TS client tests. */

import { type AddressInfo, createServer } from "node:net";
import type { BatchPredictor, SimBatch } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import type { PredictorBuilder } from "@servesim/predictor-service";
import { loadPredictorServerConfig, type PredictorServerConfig } from "@servesim/predictor-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { testDataRoots } from "./sharedData.js";

export type { PredictorBuilder };

import { startPredictorServer } from "@servesim/predictor-service";

export type LogLine = Record<string, unknown>;

/** A debug logger that parses every line it writes into `logs`. */
export function memoryLogger(name: string, logs: LogLine[]) {
  return createLogger({ name, level: "debug", destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
}

export interface TestPredictor {
  handle: ServerHandle;
  port: number;
  address: string;
  /** Every log line the server wrote (parsed JSON). */
  logs: LogLine[];
  /** PredictStreams this server has seen opened. */
  streams(): number;
  /** Cuts every stream at once (a killed replica). */
  kill(): Promise<void>;
}

export interface TestPredictorOptions {
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  build?: PredictorBuilder;
  env?: Record<string, string>;
  config?: Partial<PredictorServerConfig>;
}

export async function startPredictor(opts: TestPredictorOptions = {}): Promise<TestPredictor> {
  const env = { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: String(opts.port ?? 0), SERVESIM_DATA_ROOT: testDataRoots(), ...opts.env };
  const config = { ...loadPredictorServerConfig({ env }), ...opts.config };
  const logs: LogLine[] = [];
  const handle = await startPredictorServer(config, memoryLogger("predictor", logs), opts.build);
  return {
    handle,
    port: handle.port,
    address: `127.0.0.1:${handle.port}`,
    logs,
    streams: () => logs.filter((l) => l["msg"] === "stream opened").length,
    async kill() {
      handle.forceShutdown();
      await handle.closed;
    },
  };
}

/** A port nothing listens on (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export const constantConfig = (extra: Partial<PredictorConfig> = {}): PredictorConfig => ({
  kind: PredictorKind.PREDICTOR_KIND_CONSTANT,
  deviceName: "",
  databasePath: "",
  backendVersion: "",
  weightDtype: 0,
  kvCacheDtype: 0,
  ctxAttention: "",
  ...extra,
});

/** A promise with its resolver, for gating a predictor from a test. */
export function gate<T = void>(): { promise: Promise<T>; open(v: T): void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

/**
 * A predictor builder whose predictors answer like services/perf's, except that the `holdAt`-th
 * prediction of the server (1-based) waits until `release` is called; `reached` resolves when it starts waiting.
 */
export function holdingBuilder(holdAt: number) {
  const reached = gate();
  const release = gate();
  let count = 0;
  const build: PredictorBuilder = async (config) => {
    const inner = await createPredictor(config);
    const p: BatchPredictor = {
      description: inner.description,
      async predict(batch: SimBatch) {
        count += 1;
        if (count === holdAt) {
          reached.open();
          await release.promise;
        }
        return inner.predict(batch);
      },
    };
    return p;
  };
  return { build, reached: reached.promise, release: () => release.open(), predictions: () => count };
}
