import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "@servesim/core";
import { CALIBRATION_FEATURES, calibratedModel } from "@servesim/perf";
import { isTrtllmDisaggConfig, readClusterYaml } from "@servesim/wire";
import type { CalibratedModel } from "@servesim/wire/predictor";
import type { ClusterSpec } from "@servesim/wire/scheduler";
import { CliError } from "./cliError.js";
import type { PredictorDraft } from "./predictorDraft.js";
import { dtypeByName, PREDICTOR_NAMES, predictorKind } from "./predictorNames.js";
import { YamlFile, YamlSection } from "./yamlFile.js";

/** Keys of TensorRT-LLM PR #12700's PredictorConfig. */
const PR_KEYS = [
  "name",
  "constant_prefill_time_ms",
  "constant_decode_time_ms",
  "device_name",
  "database_path",
  "backend_version",
  "prefill_scale_factor",
  "decode_scale_factor",
] as const;

/** servesim additions (the fields of servesim.v1.PredictorConfig). */
const SERVESIM_KEYS = [
  "model",
  "gpu",
  "tp",
  "pp",
  "ep",
  "moe_tp",
  "moe_distribution",
  "eplb",
  "moe_communication",
  "nearest_table_version",
  "weight_dtype",
  "kv_cache_dtype",
  "step_overhead_us",
  "per_request_overhead_us",
  "per_layer_overhead_us",
  "ctx_attention",
  "calibrated",
] as const;

export interface SimConfig {
  predictor: PredictorDraft;
  /** The topology: a `cluster:` section, or a TensorRT-LLM disaggregated serving config. */
  cluster?: ClusterSpec;
  warnings: string[];
}

/** The cluster of a --sim-config file, when it has one (errors as "<file> line <n>: <key> <reason>"). */
function readCluster(path: string, data: Record<string, unknown>, out: SimConfig, d: PredictorDraft): void {
  const disagg = isTrtllmDisaggConfig(data);
  if (!disagg && data["cluster"] === undefined) return;
  try {
    const c = readClusterYaml(readFileSync(path, "utf8"), path);
    if (c === undefined) return;
    out.cluster = c.cluster;
    out.warnings.push(...c.warnings);
    if (disagg && c.model !== undefined && d.model === undefined) d.model = c.model;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new CliError(`${e.field}: ${e.reason}`);
    throw e;
  }
}

const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
const nonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;

function calibrated(s: YamlSection, warnings: string[]): CalibratedModel {
  for (const k of s.unknownKeys(CALIBRATION_FEATURES)) warnings.push(`${s.file.path} line ${s.file.lineOf(k.split("."))}: unknown key ${k} ignored`);
  return calibratedModel((k) => s.number(k, nonNegative, "a number >= 0") ?? 0);
}

/**
 * Reads a `--sim-config` YAML: PR #12700's `{predictor: {name, constant_prefill_time_ms, ...}}` form or
 * the same keys at the top level, plus servesim's PredictorConfig keys. Unknown keys are warned about.
 */
export function readSimConfig(path: string): SimConfig {
  const file = YamlFile.read(path, "--sim-config");
  const warnings: string[] = [];
  const top = new YamlSection(file, [], file.data);
  const nested = top.section("predictor");
  // A TensorRT-LLM disaggregated config holds no predictor keys at its top level (its own keys are checked by its reader).
  const disagg = isTrtllmDisaggConfig(file.data);
  const s = nested ?? (disagg ? new YamlSection(file, [], {}) : top);
  const known: readonly string[] = [...PR_KEYS, ...SERVESIM_KEYS];
  if (nested && !disagg) {
    for (const k of top.unknownKeys(["predictor", "cluster"])) warnings.push(`${path} line ${file.lineOf(k.split("."))}: unknown key ${k} ignored`);
  }
  for (const k of s.unknownKeys(nested ? known : [...known, "cluster"])) warnings.push(`${path} line ${file.lineOf(k.split("."))}: unknown key ${k} ignored`);

  const d: PredictorDraft = {};
  const name = s.string("name");
  if (name !== undefined) {
    const kind = predictorKind(name);
    if (kind === undefined) throw file.error([...s.prefix, "name"], `must be ${PREDICTOR_NAMES} (got ${JSON.stringify(name)})`);
    d.kind = kind;
  }
  const setNum = (key: string, check: (v: number) => boolean, expected: string, put: (v: number) => void): void => {
    const v = s.number(key, check, expected);
    if (v !== undefined) put(v);
  };
  setNum("constant_prefill_time_ms", positive, "a number > 0", (v) => (d.constantPrefillTimeMs = v));
  setNum("constant_decode_time_ms", positive, "a number > 0", (v) => (d.constantDecodeTimeMs = v));
  setNum("prefill_scale_factor", positive, "a number > 0", (v) => (d.prefillScaleFactor = v));
  setNum("decode_scale_factor", positive, "a number > 0", (v) => (d.decodeScaleFactor = v));
  setNum("step_overhead_us", nonNegative, "a number >= 0", (v) => (d.stepOverheadUs = v));
  setNum("per_request_overhead_us", nonNegative, "a number >= 0", (v) => (d.perRequestOverheadUs = v));
  setNum("per_layer_overhead_us", nonNegative, "a number >= 0", (v) => (d.perLayerOverheadUs = v));
  for (const [key, put] of [
    ["tp", (v: number) => (d.tp = v)],
    ["pp", (v: number) => (d.pp = v)],
    ["ep", (v: number) => (d.ep = v)],
    ["moe_tp", (v: number) => (d.moeTp = v)],
  ] as const) {
    const v = s.integer(key, 1);
    if (v !== undefined) put(v);
  }
  const str = (key: string): string | undefined => s.string(key)?.trim() || undefined;
  const deviceName = str("device_name");
  if (deviceName) d.deviceName = deviceName;
  const databasePath = str("database_path");
  if (databasePath) d.databasePath = databasePath;
  const backendVersion = str("backend_version");
  if (backendVersion) d.backendVersion = backendVersion;
  const model = str("model");
  if (model) d.model = model;
  const gpu = str("gpu");
  if (gpu) d.gpu = gpu;
  const ctx = str("ctx_attention");
  if (ctx) d.ctxAttention = ctx;
  const distribution = str("moe_distribution");
  if (distribution) d.moeDistribution = distribution;
  const comm = str("moe_communication");
  if (comm) d.moeCommunication = comm;
  const eplb = s.boolean("eplb");
  if (eplb !== undefined) d.eplb = eplb;
  const nearest = s.boolean("nearest_table_version");
  if (nearest !== undefined) d.nearestTableVersion = nearest;
  for (const key of ["weight_dtype", "kv_cache_dtype"] as const) {
    const v = str(key);
    if (v === undefined) continue;
    const dt = dtypeByName(v);
    if (dt === undefined) throw file.error([...s.prefix, key], `must be auto, bf16, fp16, fp8, fp8_block, nvfp4, mxfp4 or int4 (got ${JSON.stringify(v)})`);
    if (key === "weight_dtype") d.weightDtype = dt;
    else d.kvCacheDtype = dt;
  }
  const cal = s.section("calibrated");
  if (cal) d.calibrated = calibrated(cal, warnings);
  const out: SimConfig = { predictor: d, warnings };
  readCluster(path, file.data, out, d);
  return out;
}
