import type { OpTime, SimBatch } from "../../../services/engine/src/simBatch.js";
import {
  PredictorServiceClient,
  type DescribePredictorResponse,
  type ListCatalogResponse,
  type PredictorConfig,
  type PredictResponse,
} from "../../../gen/ts/servesim/v1/predictor.js";
import { ClientPool, DEFAULT_DEADLINE_MS, DEFAULT_RETRIES, type ClientOptions } from "./channel.js";
import { encodeBatch } from "./wireBatch.js";
import { RemotePredictor, type RemotePredictorStreamOptions } from "./remotePredictor.js";
import { callWithRetry } from "./retry.js";

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
      retries: this.options.retries ?? DEFAULT_RETRIES,
      signal: opts?.signal,
      what,
    };
  }

  /** Prices one engine batch; the breakdown is empty unless requested (and the predictor has one). */
  async predict(
    config: PredictorConfig,
    batch: SimBatch,
    opts?: CallOpts & { includeBreakdown?: boolean },
  ): Promise<{ timeMs: number; breakdown: OpTime[] }> {
    const request = { config, batch: encodeBatch(batch), includeBreakdown: opts?.includeBreakdown ?? false };
    const res = await callWithRetry<PredictResponse>(() => {
      const c = this.pool.pick();
      return (md, o, cb) => c.predict(request, md, o, cb);
    }, this.policy("Predict", opts));
    return { timeMs: res.timeMs, breakdown: res.breakdown.map((o) => ({ ...o })) };
  }

  listCatalog(opts?: CallOpts): Promise<ListCatalogResponse> {
    return callWithRetry<ListCatalogResponse>(() => {
      const c = this.pool.pick();
      return (md, o, cb) => c.listCatalog({}, md, o, cb);
    }, this.policy("ListCatalog", opts));
  }

  describePredictor(config: PredictorConfig, opts?: CallOpts): Promise<DescribePredictorResponse> {
    return callWithRetry<DescribePredictorResponse>(() => {
      const c = this.pool.pick();
      return (md, o, cb) => c.describePredictor({ config }, md, o, cb);
    }, this.policy("DescribePredictor", opts));
  }

  /**
   * A RemotePredictor over this client's channels (one PredictStream; closing it leaves the channels
   * open for other streams). The config is checked with DescribePredictor first.
   */
  openPredictor(config: PredictorConfig, opts?: RemotePredictorStreamOptions): Promise<RemotePredictor> {
    return RemotePredictor.open(this, this.pool.streamPicker(), config, opts ?? {});
  }

  close(): void {
    this.pool.close();
  }
}
