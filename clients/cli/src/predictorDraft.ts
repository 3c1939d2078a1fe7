import type { CalibratedModel, DType, PredictorKind } from "@servesim/wire/predictor";

/** Predictor settings collected from --sim-config and flags before the PredictorConfig is built. */
export interface PredictorDraft {
  kind?: PredictorKind;
  constantPrefillTimeMs?: number;
  constantDecodeTimeMs?: number;
  prefillScaleFactor?: number;
  decodeScaleFactor?: number;
  deviceName?: string;
  databasePath?: string;
  backendVersion?: string;
  /** Catalog name, Hugging Face id or config.json path. */
  model?: string;
  gpu?: string;
  tp?: number;
  pp?: number;
  ep?: number;
  moeTp?: number;
  /** enable_attention_dp. */
  attentionDp?: boolean;
  /** MoeOptions: routing skew, EPLB, dispatch/combine. */
  moeDistribution?: string;
  eplb?: boolean;
  moeCommunication?: string;
  nearestTableVersion?: boolean;
  weightDtype?: DType;
  kvCacheDtype?: DType;
  stepOverheadUs?: number;
  perRequestOverheadUs?: number;
  perLayerOverheadUs?: number;
  ctxAttention?: string;
  calibrated?: CalibratedModel;
}
