import type { OpTime, SimBatch } from "@servesim/core";
import { type ClientOptions, ClientPool, callWithRetry, DEFAULT_DEADLINE_MS, encodeBatch, stageTimesError } from "@servesim/wire";
import {
  type DescribePredictorResponse,
  type ListCatalogResponse,
  type PredictorConfig,
  PredictorServiceClient,
  type PredictResponse,
} from "@servesim/wire/predictor";

export interface CallOpts {
  signal?: AbortSignal;
  /** Overrides the client's deadlineMs for this call. */
  deadlineMs?: number;
}

/** A client of servesim.v1.PredictorService. */
export class PredictorClient {
  private readonly pool: ClientPool<PredictorServiceClient>;
  readonly options: Readonly<ClientOptions>;

  constructor(opts: ClientOptions) {
    this.options = { ...opts };
    this.pool = new ClientPool(PredictorServiceClient, opts);
  }

  private policy(what: string, opts: CallOpts | undefined) {
    return {
      deadline: Date.now() + (opts?.deadlineMs ?? this.options.deadlineMs ?? DEFAULT_DEADLINE_MS),
      retries: this.pool.unaryRetries,
      signal: opts?.signal,
      what,
    };
  }

  /**
   * Prices one engine batch; the breakdown is empty unless requested (and the predictor has one). With pipeline
   * parallelism (config.parallelism.pp > 1) `stageMs` holds each stage's kernel time (checked: none, or pp finite,
   * non-negative values; else INTERNAL).
   */
  async predict(
    config: PredictorConfig,
    batch: SimBatch,
    opts?: CallOpts & { includeBreakdown?: boolean },
  ): Promise<{ timeMs: number; breakdown: OpTime[]; stageMs: number[] }> {
    const request = { config, batch: encodeBatch(batch), includeBreakdown: opts?.includeBreakdown ?? false };
    const res = await callWithRetry<PredictResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.predict(request, md, o, cb);
      },
      this.policy("Predict", opts),
    );
    const bad = stageTimesError(res.stageMs, Math.max(1, config.parallelism?.pp ?? 1));
    if (bad) throw bad;
    return { timeMs: res.timeMs, breakdown: res.breakdown.map((o) => ({ ...o })), stageMs: [...res.stageMs] };
  }

  /** The replica's predictor kinds, models and GPUs; with `databasePath` (a server path) also its AIC table sets. */
  listCatalog(opts?: CallOpts & { databasePath?: string }): Promise<ListCatalogResponse> {
    const request = opts?.databasePath ? { databasePath: opts.databasePath } : {};
    return callWithRetry<ListCatalogResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.listCatalog(request, md, o, cb);
      },
      this.policy("ListCatalog", opts),
    );
  }

  describePredictor(config: PredictorConfig, opts?: CallOpts): Promise<DescribePredictorResponse> {
    return callWithRetry<DescribePredictorResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.describePredictor({ config }, md, o, cb);
      },
      this.policy("DescribePredictor", opts),
    );
  }

  close(): void {
    this.pool.close();
  }
}
