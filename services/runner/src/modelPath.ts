import { InvalidArgumentError } from "@servesim/core";
import { dtypeFromPrecision, type HfModel, loadHfConfig, toInlineArchitecture } from "@servesim/perf";
import { DType, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";

const FIELD = "spec.model_path";
/** Longer than any real path; bounds what a client can make the report carry. */
const MAX_MODEL_PATH = 4096;

const namesModel = (c: PredictorConfig | undefined): boolean => Boolean(c?.model?.inline || c?.model?.name?.trim());

/** The job's model_path trimmed, or null when unset; rejects absurd values. */
export function checkModelPath(modelPath: string | undefined): string | null {
  const path = (modelPath ?? "").trim();
  if (path === "") return null;
  if (path.length > MAX_MODEL_PATH) throw new InvalidArgumentError(FIELD, `must be at most ${MAX_MODEL_PATH} characters (got ${path.length})`);
  return path;
}

/**
 * trtllm-bench --model_path as the model: when the predictor config names no model, the config.json
 * at `modelPath` (or in that directory) is read here and put inline, so the predictor service never
 * needs the file; the checkpoint's dtypes fill in unset weight/KV dtypes. A config that names a model
 * is returned unchanged (the path is then only shown in the report).
 */
export function applyModelPath(config: PredictorConfig | undefined, modelPath: string | null): PredictorConfig | undefined {
  if (modelPath === null || namesModel(config)) return config;
  let hf: HfModel;
  try {
    hf = loadHfConfig(modelPath);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(FIELD, e.reason);
    throw e;
  }
  const base: PredictorConfig = config ?? {
    kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED,
    deviceName: "",
    databasePath: "",
    backendVersion: "",
    weightDtype: DType.D_TYPE_UNSPECIFIED,
    kvCacheDtype: DType.D_TYPE_UNSPECIFIED,
    ctxAttention: "",
  };
  // The checkpoint's per-group precisions travel in the architecture (weight_precisions).
  const out: PredictorConfig = { ...base, model: { inline: toInlineArchitecture(hf) } };
  if (out.kvCacheDtype === DType.D_TYPE_UNSPECIFIED && hf.kv) out.kvCacheDtype = dtypeFromPrecision(hf.kv);
  return out;
}
