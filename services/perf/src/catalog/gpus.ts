import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import type { GpuHardware } from "@servesim/wire/predictor";
import type { Precision } from "../dtypes.js";

/** One GPU as AIConfigurator's system YAML describes it (SI units: bytes, B/s, FLOP/s, seconds). */
export interface GpuSpec {
  name: string;
  memBw: number;
  memCapacity: number;
  bf16Flops: number;
  /** 0 when the GPU has no FP8 tensor cores. */
  fp8Flops: number;
  fp4Flops: number;
  int8Flops: number;
  intraNodeBw: number;
  interNodeBw: number;
  numGpusPerNode: number;
  /**
   * GPUs in one NVLink domain: num_gpus_per_rack (GB200/GB300 NVL72: 72, with inter_node_bw = NVLink),
   * else num_gpus_per_node.
   */
  nvlinkDomain: number;
  /** Bandwidth beyond the NVLink domain (inter_rack_bw, else inter_node_bw), B/s. */
  interRackBw: number;
  memBwEmpiricalScalingFactor: number;
  memEmpiricalConstantLatency: number;
  p2pLatency: number;
  otherMem: number;
  /** NCCL buffers per TP size (bytes). */
  ncclMem: Readonly<Record<number, number>>;
  smVersion: number;
  /** AIC `data_dir` (relative to the systems directory), when the spec came from a YAML. */
  dataDir?: string;
  ncclVersion?: string;
}

const GiB = 2 ** 30;
const NCCL_MEM: Readonly<Record<number, number>> = { 1: 0, 2: 358_612_992, 4: 411_041_792, 8: 411_041_792 };
const COMMON = {
  numGpusPerNode: 8,
  memBwEmpiricalScalingFactor: 0.8,
  memEmpiricalConstantLatency: 3e-6,
  p2pLatency: 1e-5,
  otherMem: 3.5 * GiB,
  ncclMem: NCCL_MEM,
};

type CatalogGpu = Omit<GpuSpec, "nvlinkDomain" | "interRackBw"> & Partial<Pick<GpuSpec, "nvlinkDomain" | "interRackBw">>;

/** NVLink domain and inter-domain bandwidth default to the node's. */
const withDomains = (g: CatalogGpu): GpuSpec => ({ ...g, nvlinkDomain: g.nvlinkDomain ?? g.numGpusPerNode, interRackBw: g.interRackBw ?? g.interNodeBw });

/** Built-in GPUs: the values of AIConfigurator's system YAMLs (aiconfigurator/systems/*.yaml). */
export const GPU_CATALOG: readonly GpuSpec[] = (<CatalogGpu[]>[
  {
    name: "h100_sxm",
    memBw: 3.35e12,
    memCapacity: 85_899_345_920,
    bf16Flops: 989e12,
    fp8Flops: 1978e12,
    fp4Flops: 0,
    int8Flops: 1978e12,
    intraNodeBw: 450e9,
    interNodeBw: 50e9,
    smVersion: 90,
    dataDir: "data/h100_sxm",
    ncclVersion: "2.27.3",
    ...COMMON,
  },
  {
    name: "h200_sxm",
    memBw: 4.8e12,
    memCapacity: 151_397_597_184,
    bf16Flops: 989e12,
    fp8Flops: 1978e12,
    fp4Flops: 0,
    int8Flops: 1978e12,
    intraNodeBw: 450e9,
    interNodeBw: 50e9,
    smVersion: 90,
    dataDir: "data/h200_sxm",
    ncclVersion: "2.26.2",
    ...COMMON,
  },
  {
    name: "a100_sxm",
    memBw: 2.039e12,
    memCapacity: 85_899_345_920,
    bf16Flops: 312e12,
    fp8Flops: 0,
    fp4Flops: 0,
    int8Flops: 624e12,
    intraNodeBw: 300e9,
    interNodeBw: 25e9,
    smVersion: 80,
    dataDir: "data/a100_sxm",
    ncclVersion: "2.27.3",
    ...COMMON,
  },
  {
    name: "b200_sxm",
    memBw: 7.7e12,
    memCapacity: 193_273_528_320,
    bf16Flops: 2250e12,
    fp8Flops: 4500e12,
    fp4Flops: 9000e12,
    int8Flops: 4500e12,
    intraNodeBw: 900e9,
    interNodeBw: 100e9,
    smVersion: 100,
    dataDir: "data/b200_sxm",
    ncclVersion: "2.27.3",
    ...COMMON,
  },
  {
    name: "gb200",
    memBw: 8e12,
    memCapacity: 198_674_743_296,
    bf16Flops: 2500e12,
    fp8Flops: 5000e12,
    fp4Flops: 10000e12,
    int8Flops: 5000e12,
    intraNodeBw: 900e9,
    interNodeBw: 900e9,
    smVersion: 100,
    dataDir: "data/gb200",
    ncclVersion: "2.23",
    ...COMMON,
    numGpusPerNode: 4,
    nvlinkDomain: 72,
    interRackBw: 100e9,
  },
  {
    name: "b300_sxm",
    memBw: 7.75e12,
    memCapacity: 288_400_343_040,
    bf16Flops: 2250e12,
    fp8Flops: 4500e12,
    fp4Flops: 14000e12,
    int8Flops: 153.5e12,
    intraNodeBw: 900e9,
    interNodeBw: 100e9,
    smVersion: 103,
    dataDir: "data/b300_sxm",
    ncclVersion: "2.27",
    ...COMMON,
  },
  {
    name: "gb300",
    memBw: 8e12,
    memCapacity: 298_013_687_808,
    bf16Flops: 2500e12,
    fp8Flops: 5000e12,
    fp4Flops: 15000e12,
    int8Flops: 165e12,
    intraNodeBw: 900e9,
    interNodeBw: 900e9,
    smVersion: 103,
    dataDir: "data/gb300",
    ncclVersion: "2.27",
    ...COMMON,
    numGpusPerNode: 4,
    nvlinkDomain: 72,
    interRackBw: 100e9,
  },
  {
    name: "l40s",
    memBw: 0.864e12,
    memCapacity: 48_305_799_168,
    bf16Flops: 362.05e12,
    fp8Flops: 733e12,
    fp4Flops: 0,
    int8Flops: 733e12,
    intraNodeBw: 32e9,
    interNodeBw: 50e9,
    smVersion: 89,
    dataDir: "data/l40s",
    ncclVersion: "2.27.3",
    ...COMMON,
  },
]).map(withDomains);

const GPU_ALIASES: Readonly<Record<string, string>> = {
  h100: "h100_sxm",
  "h100-sxm": "h100_sxm",
  h200: "h200_sxm",
  "h200-sxm": "h200_sxm",
  a100: "a100_sxm",
  "a100-sxm": "a100_sxm",
  b200: "b200_sxm",
  "b200-sxm": "b200_sxm",
  b300: "b300_sxm",
  "b300-sxm": "b300_sxm",
};

/** Looks a GPU up by AIC system name (case-insensitive; h100, h200, a100, b200 also accepted). */
export function lookupGpu(name: string): GpuSpec | undefined {
  const key = name.trim().toLowerCase();
  const canonical = GPU_ALIASES[key] ?? key;
  return GPU_CATALOG.find((g) => g.name === canonical);
}

/** Dense tensor-core FLOP/s at a precision; undefined when the GPU lacks it (e.g. FP8 on A100). */
export function peakFlops(g: GpuSpec, p: Precision): number | undefined {
  switch (p) {
    case "bf16":
    case "fp16":
      return g.bf16Flops;
    case "fp8":
      return g.fp8Flops > 0 ? g.fp8Flops : undefined;
    case "nvfp4":
      return g.fp4Flops > 0 ? g.fp4Flops : undefined;
  }
}

/** NCCL buffer memory at a TP size: the YAML entry, else the entry of the largest listed size ≤ tp. */
export function ncclMemFor(g: GpuSpec, tp: number): number {
  if (g.ncclMem[tp] !== undefined) return g.ncclMem[tp]!;
  let best = 0;
  let bestKey = 0;
  for (const [k, v] of Object.entries(g.ncclMem)) {
    const n = Number(k);
    if (n <= tp && n >= bestKey) {
      bestKey = n;
      best = v;
    }
  }
  return best;
}

/** Parses an AIConfigurator system YAML (text); `source` names it in errors. */
export function gpuFromYamlText(text: string, source: string, name = basename(source).replace(/\.ya?ml$/, "")): GpuSpec {
  let doc: unknown;
  try {
    // Loaded on first use: only a system YAML needs the parser (start-up time is part of every run).
    const { parse: parseYaml } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
    doc = parseYaml(text);
  } catch (e) {
    throw new InvalidArgumentError("config.gpu", `${source}: not valid YAML (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== "object") throw new InvalidArgumentError("config.gpu", `${source}: not a YAML mapping`);
  const root = doc as Record<string, unknown>;
  const section = (key: string): Record<string, unknown> => {
    const s = root[key];
    if (s === null || typeof s !== "object") throw new InvalidArgumentError("config.gpu", `${source}: section "${key}" is missing`);
    return s as Record<string, unknown>;
  };
  const gpu = section("gpu");
  const node = (root["node"] ?? {}) as Record<string, unknown>;
  const misc = (root["misc"] ?? {}) as Record<string, unknown>;
  const num = (s: Record<string, unknown>, sname: string, key: string, dflt?: number): number => {
    const v = s[key];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      throw new InvalidArgumentError("config.gpu", `${source}: ${sname}.${key} is missing`);
    }
    const x = typeof v === "string" ? Number(v) : v;
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0)
      throw new InvalidArgumentError("config.gpu", `${source}: ${sname}.${key} must be a non-negative number`);
    return x;
  };
  // Older AIC YAMLs call the bf16 rate float16_tc_flops.
  const bf16 =
    gpu["bfloat16_tc_flops"] === undefined && gpu["float16_tc_flops"] !== undefined
      ? num(gpu, "gpu", "float16_tc_flops")
      : num(gpu, "gpu", "bfloat16_tc_flops");
  const ncclMem: Record<number, number> = {};
  const rawNccl = misc["nccl_mem"];
  if (rawNccl && typeof rawNccl === "object") {
    for (const [k, v] of Object.entries(rawNccl as Record<string, unknown>)) ncclMem[Number(k)] = Number(v);
  }
  const spec: GpuSpec = {
    name,
    memBw: num(gpu, "gpu", "mem_bw"),
    memCapacity: num(gpu, "gpu", "mem_capacity"),
    bf16Flops: bf16,
    fp8Flops: num(gpu, "gpu", "fp8_tc_flops", 0),
    fp4Flops: num(gpu, "gpu", "fp4_tc_flops", 0),
    int8Flops: num(gpu, "gpu", "int8_tc_flops", 0),
    intraNodeBw: num(node, "node", "intra_node_bw"),
    interNodeBw: num(node, "node", "inter_node_bw"),
    numGpusPerNode: num(node, "node", "num_gpus_per_node", 8),
    nvlinkDomain: 0,
    interRackBw: 0,
    memBwEmpiricalScalingFactor: num(gpu, "gpu", "mem_bw_empirical_scaling_factor", 0.8),
    memEmpiricalConstantLatency: num(gpu, "gpu", "mem_empirical_constant_latency", 3e-6),
    p2pLatency: num(node, "node", "p2p_latency", 1e-5),
    otherMem: num(misc, "misc", "other_mem", 3.5 * GiB),
    ncclMem: Object.keys(ncclMem).length > 0 ? ncclMem : NCCL_MEM,
    smVersion: num(gpu, "gpu", "sm_version", 0),
  };
  // An NVL72 rack is one NVLink domain (its inter_node_bw is NVLink); AIC's num_gpus_per_node is 4 there.
  spec.nvlinkDomain = Math.max(spec.numGpusPerNode, num(node, "node", "num_gpus_per_rack", 0));
  spec.interRackBw = num(node, "node", "inter_rack_bw", 0) || spec.interNodeBw;
  if (typeof root["data_dir"] === "string") spec.dataDir = root["data_dir"];
  if (misc["nccl_version"] !== undefined) spec.ncclVersion = String(misc["nccl_version"]);
  validateGpu(spec, "config.gpu");
  return spec;
}

/** Reads an AIConfigurator system YAML from disk. */
export function gpuFromYaml(path: string): GpuSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InvalidArgumentError("config.gpu", `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return gpuFromYamlText(text, path);
}

/** Validates an inline GpuHardware (gRPC); optional fields take AIC's defaults. */
export function gpuFromHardware(h: GpuHardware, field = "config.gpu.inline"): GpuSpec {
  const spec: GpuSpec = {
    name: h.name || "custom",
    memBw: h.memBw,
    memCapacity: h.memCapacity,
    bf16Flops: h.bfloat16TcFlops,
    fp8Flops: h.fp8TcFlops,
    fp4Flops: h.fp4TcFlops,
    int8Flops: 0,
    intraNodeBw: h.intraNodeBw,
    interNodeBw: h.interNodeBw > 0 ? h.interNodeBw : h.intraNodeBw,
    numGpusPerNode: h.numGpusPerNode > 0 ? h.numGpusPerNode : 8,
    nvlinkDomain: Math.max(h.numGpusPerNode > 0 ? h.numGpusPerNode : 8, h.numGpusPerRack ?? 0),
    interRackBw: (h.interRackBw ?? 0) > 0 ? h.interRackBw! : h.interNodeBw > 0 ? h.interNodeBw : h.intraNodeBw,
    memBwEmpiricalScalingFactor: h.memBwEmpiricalScalingFactor > 0 ? h.memBwEmpiricalScalingFactor : 0.8,
    memEmpiricalConstantLatency: h.memEmpiricalConstantLatency > 0 ? h.memEmpiricalConstantLatency : 3e-6,
    p2pLatency: h.p2pLatency > 0 ? h.p2pLatency : 1e-5,
    otherMem: h.otherMem > 0 ? h.otherMem : 3.5 * GiB,
    ncclMem: NCCL_MEM,
    smVersion: h.smVersion ?? 0,
  };
  validateGpu(spec, field);
  return spec;
}

function validateGpu(g: GpuSpec, field: string): void {
  const need: Array<[keyof GpuSpec, string]> = [
    ["memBw", "mem_bw"],
    ["memCapacity", "mem_capacity"],
    ["bf16Flops", "bfloat16_tc_flops"],
    ["intraNodeBw", "intra_node_bw"],
  ];
  for (const [k, label] of need) {
    const v = g[k] as number;
    if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${field}.${label}`, `must be > 0 (got ${v})`);
  }
  for (const [k, label] of [
    ["fp8Flops", "fp8_tc_flops"],
    ["fp4Flops", "fp4_tc_flops"],
  ] as Array<[keyof GpuSpec, string]>) {
    const v = g[k] as number;
    if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${field}.${label}`, `must be >= 0 (got ${v})`);
  }
}

/** The proto form of a GPU (DescribePredictor / ListCatalog). */
export function toGpuHardware(g: GpuSpec): GpuHardware {
  return {
    name: g.name,
    memBw: g.memBw,
    memCapacity: g.memCapacity,
    bfloat16TcFlops: g.bf16Flops,
    fp8TcFlops: g.fp8Flops,
    fp4TcFlops: g.fp4Flops,
    intraNodeBw: g.intraNodeBw,
    interNodeBw: g.interNodeBw,
    numGpusPerNode: g.numGpusPerNode,
    memBwEmpiricalScalingFactor: g.memBwEmpiricalScalingFactor,
    memEmpiricalConstantLatency: g.memEmpiricalConstantLatency,
    otherMem: g.otherMem,
    p2pLatency: g.p2pLatency,
    ...(g.nvlinkDomain !== g.numGpusPerNode ? { numGpusPerRack: g.nvlinkDomain } : {}),
    ...(g.interRackBw !== g.interNodeBw ? { interRackBw: g.interRackBw } : {}),
    ...(g.smVersion > 0 ? { smVersion: g.smVersion } : {}),
  };
}
