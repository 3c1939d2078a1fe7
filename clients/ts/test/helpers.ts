/** Real predictor servers on loopback ephemeral ports for the client tests. */
import { createLogger } from "../../../services/common/src/logger.js";
import type { ServerHandle } from "../../../services/common/src/server.js";
import { makeBatch, type BatchPredictor, type SimBatch } from "../../../services/engine/src/simBatch.js";
import { createPredictor } from "../../../services/perf/src/factory.js";
import { loadPredictorServerConfig } from "../../../services/predictor/src/config.js";
import type { PredictorBuilder } from "../../../services/predictor/src/predictorCache.js";
import { startPredictorServer } from "../../../services/predictor/src/server.js";
import { PredictorKind, type PredictorConfig } from "../../../gen/ts/servesim/v1/predictor.js";

export type LogLine = Record<string, unknown>;

export interface TestPredictor {
  handle: ServerHandle;
  port: number;
  logs: LogLine[];
  /** PredictStreams this server has seen opened. */
  streams(): number;
  kill(): Promise<void>;
}

export async function startPredictor(opts: { port?: number; build?: PredictorBuilder } = {}): Promise<TestPredictor> {
  const config = loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: String(opts.port ?? 0) } });
  const logs: LogLine[] = [];
  const logger = createLogger({ name: "predictor", level: "debug", destination: { write: (l: string) => void logs.push(JSON.parse(l) as LogLine) } });
  const handle = await startPredictorServer(config, logger, opts.build);
  return {
    handle,
    port: handle.port,
    logs,
    streams: () => logs.filter((l) => l["msg"] === "stream opened").length,
    async kill() {
      handle.forceShutdown();
      await handle.closed;
    },
  };
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

export const rooflineConfig = (): PredictorConfig => ({
  ...constantConfig(),
  kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
  model: { name: "llama-3.1-8b" },
  gpu: { name: "h100_sxm" },
});

/** A mix of batches: prefill only, mixed, decode only, and one large enough to go out packed. */
export function sampleBatches(): SimBatch[] {
  const decode = (n: number, past: number) => Array.from({ length: n }, (_, i) => ({ context: false, inputLength: 1, pastKvLength: past + i }));
  return [
    makeBatch([{ context: true, inputLength: 128, pastKvLength: 0 }]),
    makeBatch([{ context: true, inputLength: 64, pastKvLength: 32 }, ...decode(3, 100)]),
    makeBatch(decode(4, 200)),
    makeBatch([{ context: true, inputLength: 1, pastKvLength: 511 }, ...decode(40, 300)]),
  ];
}

/** What the local predictor says about the same batches. */
export async function localTimes(config: PredictorConfig, batches: SimBatch[]): Promise<number[]> {
  const p = await createPredictor(config);
  const out: number[] = [];
  for (const b of batches) out.push(await p.predict(b));
  return out;
}

/** A gate-able builder: the `holdAt`-th prediction on the server waits for release(). */
export function holdingBuilder(holdAt: number) {
  let count = 0;
  let reached!: () => void;
  let release!: () => void;
  const reachedP = new Promise<void>((r) => (reached = r));
  const releaseP = new Promise<void>((r) => (release = r));
  const build: PredictorBuilder = async (config) => {
    const inner = await createPredictor(config);
    const p: BatchPredictor = {
      description: inner.description,
      async predict(batch) {
        count += 1;
        if (count === holdAt) {
          reached();
          await releaseP;
        }
        return inner.predict(batch);
      },
    };
    return p;
  };
  return { build, reached: reachedP, release };
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const p = await startPredictor();
  const port = p.port;
  await p.kill();
  return port;
}
