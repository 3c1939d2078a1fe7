import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { gpuFromYaml } from "../catalog/gpus.js";
import { AllReduceTable } from "./allReduceTable.js";
import { AttentionTable } from "./attentionTable.js";
import { GemmTable } from "./gemmTable.js";
import { MlaBmmTable } from "./mlaBmmTable.js";
import { MoeTable } from "./moeTable.js";
import type { AicTableRows, AllReduceRow, AttentionRow, GemmRow, MlaBmmRow, MoeRow, NcclRow } from "./rows.js";
import { newestVersion, sortVersions } from "./versions.js";

/** NCCL collectives by op name (all_gather, reduce_scatter, alltoall, all_reduce), on half-precision elements. */
export type NcclTables = ReadonlyMap<string, AllReduceTable>;

interface Tables {
  gemm?: GemmTable;
  contextAttention?: AttentionTable;
  generationAttention?: AttentionTable;
  moe?: MoeTable;
  allReduce?: AllReduceTable;
  mlaContext?: AttentionTable;
  mlaGeneration?: AttentionTable;
  mlaContextModule?: AttentionTable;
  mlaGenerationModule?: AttentionTable;
  mlaBmm?: MlaBmmTable;
  nccl?: NcclTables;
  dsaContextModule?: ReadonlyMap<string, AttentionTable>;
  dsaGenerationModule?: ReadonlyMap<string, AttentionTable>;
}

/** Indexed AIC tables of one system and backend version; any table may be absent. */
export class AicDatabase {
  readonly gemm?: GemmTable;
  readonly contextAttention?: AttentionTable;
  readonly generationAttention?: AttentionTable;
  readonly moe?: MoeTable;
  readonly allReduce?: AllReduceTable;
  /** MLA attention kernels (context_mla, generation_mla): head_dim 576, kv heads = heads. */
  readonly mlaContext?: AttentionTable;
  readonly mlaGeneration?: AttentionTable;
  /** Whole MLA blocks (projections, kernel, o_proj) of DeepSeek-V3's geometry; attnDtype = gemm_type. */
  readonly mlaContextModule?: AttentionTable;
  readonly mlaGenerationModule?: AttentionTable;
  readonly mlaBmm?: MlaBmmTable;
  readonly nccl?: NcclTables;
  /** DeepSeek-sparse-attention blocks (indexer included) by architecture class (GlmMoeDsaForCausalLM, DeepseekV32ForCausalLM). */
  readonly dsaContextModule?: ReadonlyMap<string, AttentionTable>;
  readonly dsaGenerationModule?: ReadonlyMap<string, AttentionTable>;
  /** Where the tables came from (file paths, or "memory"). */
  readonly origin: string;
  /** Tables that were looked for and not found (paths). */
  readonly missing: readonly string[];
  /** The table version (trtllm backend), "" for in-memory tables. */
  readonly version: string;

  constructor(tables: Tables, origin: string, missing: readonly string[] = [], version = "") {
    for (const [k, v] of Object.entries(tables)) if (v !== undefined) (this as unknown as Record<string, unknown>)[k] = v;
    this.origin = origin;
    this.missing = missing;
    this.version = version;
  }

  /** Builds a database from in-memory rows (tests, generated tables). */
  static fromRows(rows: AicTableRows, origin = "memory"): AicDatabase {
    const t: Tables = {};
    if (rows.gemm) t.gemm = new GemmTable(rows.gemm);
    if (rows.contextAttention) t.contextAttention = new AttentionTable(rows.contextAttention, "context");
    if (rows.generationAttention) t.generationAttention = new AttentionTable(rows.generationAttention, "generation");
    if (rows.moe) t.moe = new MoeTable(rows.moe);
    if (rows.allReduce) t.allReduce = new AllReduceTable(rows.allReduce);
    if (rows.mlaContext) t.mlaContext = new AttentionTable(rows.mlaContext, "context");
    if (rows.mlaGeneration) t.mlaGeneration = new AttentionTable(rows.mlaGeneration, "generation");
    if (rows.mlaContextModule) t.mlaContextModule = new AttentionTable(rows.mlaContextModule, "context");
    if (rows.mlaGenerationModule) t.mlaGenerationModule = new AttentionTable(rows.mlaGenerationModule, "generation");
    if (rows.mlaBmm) t.mlaBmm = new MlaBmmTable(rows.mlaBmm);
    if (rows.nccl) t.nccl = ncclTables(rows.nccl);
    return new AicDatabase(t, origin);
  }
}

type Columns = Record<string, unknown[]>;

/** Reads the named columns of a Parquet file (ZSTD via hyparquet-compressors); `optional` columns may be absent. */
export async function readParquetColumns(path: string, columns: readonly string[], optional: readonly string[] = []): Promise<Columns> {
  // One read of the whole file: far faster than hyparquet's ranged stream reads for these small tables.
  // Loaded on first use: the Parquet reader is needed only by the aic predictor.
  const [{ parquetRead }, { compressors }] = await Promise.all([import("hyparquet"), import("hyparquet-compressors")]);
  const buf = await readFile(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const chunks = new Map<string, Array<{ rowStart: number; data: ArrayLike<unknown> }>>();
  const wanted = [...columns, ...optional];
  await parquetRead({
    file,
    compressors,
    columns: wanted,
    onChunk: (c) => {
      let list = chunks.get(c.columnName);
      if (!list) chunks.set(c.columnName, (list = []));
      list.push({ rowStart: c.rowStart, data: c.columnData });
    },
  });
  const out: Columns = {};
  for (const name of wanted) {
    const list = chunks.get(name);
    if (!list) {
      if (optional.includes(name)) continue;
      throw new InvalidArgumentError("config.database_path", `${path}: column "${name}" is missing`);
    }
    list.sort((a, b) => a.rowStart - b.rowStart);
    const all: unknown[] = [];
    for (const c of list) for (let i = 0; i < c.data.length; i++) all.push(c.data[i]);
    out[name] = all;
  }
  return out;
}

const num = (v: unknown): number => (typeof v === "bigint" ? Number(v) : Number(v));
const str = (v: unknown): string => String(v);

async function loadGemm(path: string): Promise<GemmTable> {
  const c = await readParquetColumns(path, ["gemm_dtype", "m", "n", "k", "latency"]);
  const rows: GemmRow[] = c["gemm_dtype"]!.map((d, i) => ({
    dtype: str(d),
    m: num(c["m"]![i]),
    n: num(c["n"]![i]),
    k: num(c["k"]![i]),
    latency: num(c["latency"]![i]),
  }));
  return new GemmTable(rows);
}

const ATTENTION_COLUMNS = [
  "batch_size",
  "isl",
  "step",
  "num_heads",
  "num_key_value_heads",
  "head_dim",
  "window_size",
  "attn_dtype",
  "kv_cache_dtype",
  "latency",
];

async function loadAttention(path: string, kind: "context" | "generation"): Promise<AttentionTable> {
  const c = await readParquetColumns(path, ATTENTION_COLUMNS);
  const rows: AttentionRow[] = c["batch_size"]!.map((b, i) => ({
    batch: num(b),
    isl: num(c["isl"]![i]),
    step: num(c["step"]![i]),
    heads: num(c["num_heads"]![i]),
    kvHeads: num(c["num_key_value_heads"]![i]),
    headDim: num(c["head_dim"]![i]),
    window: num(c["window_size"]![i]),
    attnDtype: str(c["attn_dtype"]![i]),
    kvDtype: str(c["kv_cache_dtype"]![i]),
    latency: num(c["latency"]![i]),
  }));
  return new AttentionTable(rows, kind);
}

/** The MLA latent head_dim the MLA tables are keyed with (kv_lora_rank + qk_rope_head_dim of DeepSeek-V3). */
export const MLA_TABLE_HEAD_DIM = 576;

/**
 * MLA kernel tables (context_mla, generation_mla): num_heads is the local head count (tp_size is
 * redundant), so rows are keyed by heads only; duplicates are averaged by the table.
 */
async function loadMlaKernel(path: string, kind: "context" | "generation"): Promise<AttentionTable> {
  const c = await readParquetColumns(path, ["mla_dtype", "kv_cache_dtype", "num_heads", "batch_size", "isl", "step", "latency"]);
  const rows: AttentionRow[] = c["batch_size"]!.map((b, i) =>
    mlaRow(num(b), num(c["isl"]![i]), num(c["step"]![i]), num(c["num_heads"]![i]), "bfloat16", str(c["kv_cache_dtype"]![i]), num(c["latency"]![i])),
  );
  return new AttentionTable(averageDuplicates(rows), kind);
}

/** MLA module tables (mla_context_module, mla_generation_module): one family per gemm_type and KV dtype. */
async function loadMlaModule(path: string, kind: "context" | "generation"): Promise<AttentionTable> {
  const c = await readParquetColumns(path, ["gemm_type", "kv_cache_dtype", "num_heads", "batch_size", "isl", "step", "latency"], ["model"]);
  const rows: AttentionRow[] = [];
  for (let i = 0; i < c["batch_size"]!.length; i++) {
    const model = c["model"] ? str(c["model"][i]) : "deepseek-ai/DeepSeek-V3";
    if (model !== "deepseek-ai/DeepSeek-V3") continue;
    rows.push(
      mlaRow(
        num(c["batch_size"]![i]),
        num(c["isl"]![i]),
        num(c["step"]![i]),
        num(c["num_heads"]![i]),
        str(c["gemm_type"]![i]),
        str(c["kv_cache_dtype"]![i]),
        num(c["latency"]![i]),
      ),
    );
  }
  return new AttentionTable(averageDuplicates(rows), kind);
}

function mlaRow(batch: number, isl: number, step: number, heads: number, attnDtype: string, kvDtype: string, latency: number): AttentionRow {
  return { batch, isl, step, heads, kvHeads: heads, headDim: MLA_TABLE_HEAD_DIM, window: 0, attnDtype, kvDtype, latency };
}

function averageDuplicates(rows: AttentionRow[]): AttentionRow[] {
  const byKey = new Map<string, { row: AttentionRow; sum: number; n: number }>();
  for (const r of rows) {
    const key = `${r.attnDtype}|${r.kvDtype}|${r.heads}|${r.batch}|${r.isl}|${r.step}`;
    const hit = byKey.get(key);
    if (hit) {
      hit.sum += r.latency;
      hit.n += 1;
    } else byKey.set(key, { row: r, sum: r.latency, n: 1 });
  }
  return [...byKey.values()].map((v) => ({ ...v.row, latency: v.sum / v.n }));
}

/**
 * DSA module tables (dsa_context_module, dsa_generation_module): one table per architecture class, keyed
 * like the MLA module tables. Context rows with a cached-prefix probe (step > 0) are left out.
 */
async function loadDsaModule(path: string, kind: "context" | "generation"): Promise<ReadonlyMap<string, AttentionTable>> {
  const c = await readParquetColumns(path, ["architecture", "gemm_type", "kv_cache_dtype", "num_heads", "batch_size", "isl", "step", "latency"]);
  const byArch = new Map<string, AttentionRow[]>();
  for (let i = 0; i < c["batch_size"]!.length; i++) {
    const step = num(c["step"]![i]);
    if (kind === "context" && step !== 0) continue;
    const arch = str(c["architecture"]![i]);
    let rows = byArch.get(arch);
    if (!rows) byArch.set(arch, (rows = []));
    rows.push(
      mlaRow(
        num(c["batch_size"]![i]),
        num(c["isl"]![i]),
        step,
        num(c["num_heads"]![i]),
        str(c["gemm_type"]![i]),
        str(c["kv_cache_dtype"]![i]),
        num(c["latency"]![i]),
      ),
    );
  }
  return new Map([...byArch].map(([arch, rows]) => [arch, new AttentionTable(averageDuplicates(rows), kind)]));
}

async function loadMlaBmm(path: string): Promise<MlaBmmTable> {
  const c = await readParquetColumns(path, ["op_name", "bmm_dtype", "num_tokens", "num_heads", "latency"]);
  const rows: MlaBmmRow[] = c["op_name"]!.map((op, i) => ({
    op: str(op) as MlaBmmRow["op"],
    dtype: str(c["bmm_dtype"]![i]),
    numTokens: num(c["num_tokens"]![i]),
    heads: num(c["num_heads"]![i]),
    latency: num(c["latency"]![i]),
  }));
  return new MlaBmmTable(rows);
}

async function loadMoe(path: string): Promise<MoeTable> {
  const cols = ["moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size", "moe_ep_size", "distribution", "latency"];
  const c = await readParquetColumns(path, cols, ["kernel_source"]);
  const rows: MoeRow[] = c["moe_dtype"]!.map((d, i) => ({
    dtype: str(d),
    numTokens: num(c["num_tokens"]![i]),
    hidden: num(c["hidden_size"]![i]),
    inter: num(c["inter_size"]![i]),
    topK: num(c["topk"]![i]),
    experts: num(c["num_experts"]![i]),
    moeTp: num(c["moe_tp_size"]![i]),
    moeEp: num(c["moe_ep_size"]![i]),
    distribution: str(c["distribution"]![i]),
    latency: num(c["latency"]![i]),
    kernelSource: c["kernel_source"] ? str(c["kernel_source"][i]) : "",
  }));
  return new MoeTable(rows);
}

async function loadAllReduce(path: string): Promise<AllReduceTable> {
  const c = await readParquetColumns(path, ["allreduce_dtype", "num_gpus", "message_size", "latency"]);
  const rows: AllReduceRow[] = [];
  c["num_gpus"]!.forEach((n, i) => {
    if (str(c["allreduce_dtype"]![i]) !== "bfloat16") return;
    rows.push({ numGpus: num(n), messageSize: num(c["message_size"]![i]), latency: num(c["latency"]![i]) });
  });
  return new AllReduceTable(rows);
}

/** Per-op curves of the half-precision NCCL rows (duplicates averaged by the curves). */
function ncclTables(rows: readonly NcclRow[]): NcclTables {
  const byOp = new Map<string, AllReduceRow[]>();
  for (const r of rows) {
    if (r.dtype !== "half") continue;
    let list = byOp.get(r.op);
    if (!list) byOp.set(r.op, (list = []));
    list.push({ numGpus: r.numGpus, messageSize: r.messageSize, latency: r.latency });
  }
  return new Map([...byOp].map(([op, list]) => [op, new AllReduceTable(list)]));
}

async function loadNccl(path: string): Promise<NcclTables> {
  const c = await readParquetColumns(path, ["nccl_dtype", "op_name", "num_gpus", "message_size", "latency"]);
  const rows: NcclRow[] = c["op_name"]!.map((op, i) => ({
    op: str(op),
    dtype: str(c["nccl_dtype"]![i]),
    numGpus: num(c["num_gpus"]![i]),
    messageSize: num(c["message_size"]![i]),
    latency: num(c["latency"]![i]),
  }));
  return ncclTables(rows);
}

/** Loaded tables, once per process, keyed by absolute file path. */
const tableCache = new Map<string, Promise<unknown>>();

function cachedLoad<T>(path: string, load: (p: string) => Promise<T>): Promise<T> {
  const key = resolve(path);
  let p = tableCache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load(key);
    tableCache.set(key, p);
    p.catch(() => tableCache.delete(key));
  }
  return p;
}

/** Drops every cached table (tests; a server reloading its data). */
export function clearAicTableCache(): void {
  tableCache.clear();
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const listDirs = (p: string): string[] => (isDir(p) ? readdirSync(p).filter((d) => isDir(join(p, d))) : []);

/** A system's data directory (the YAML's data_dir, else data/<system>) and its YAML path. */
function systemData(systemsDir: string, device: string): { yamlPath: string; dataRoot: string } {
  const yamlPath = join(systemsDir, `${device}.yaml`);
  if (!existsSync(yamlPath)) {
    const systems = readdirSync(systemsDir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.replace(/\.yaml$/, ""));
    throw new InvalidArgumentError("config.device_name", `${yamlPath}: no such system YAML (systems here: ${systems.join(", ") || "none"})`);
  }
  const sys = gpuFromYaml(yamlPath);
  return { yamlPath, dataRoot: join(systemsDir, sys.dataDir ?? join("data", device)) };
}

/** The trtllm table versions of a system's data directory (any op family), oldest first. */
export function tableVersions(dataRoot: string, backend = "trtllm"): string[] {
  const versions = new Set<string>();
  for (const family of listDirs(dataRoot)) for (const v of listDirs(join(dataRoot, family, backend))) versions.add(v);
  return sortVersions([...versions]);
}

/** Op families (attention, gemm, mla, moe, ...) with tables at a version. */
export function opFamiliesAt(dataRoot: string, version: string, backend = "trtllm"): string[] {
  return listDirs(dataRoot)
    .filter((f) => isDir(join(dataRoot, f, backend, version)))
    .sort();
}

/** One system's tables at one version, as ListCatalog lists them. */
export interface TableSetInfo {
  system: string;
  backend: string;
  version: string;
  opFamilies: string[];
  newest: boolean;
}

/** Every system YAML with a data directory under `systemsDir`, and its table versions. */
export function listTableSets(systemsDir: string): TableSetInfo[] {
  if (!isDir(systemsDir)) throw new InvalidArgumentError("database_path", `${systemsDir}: no such directory`);
  const out: TableSetInfo[] = [];
  const systems = readdirSync(systemsDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.replace(/\.yaml$/, ""))
    .sort();
  for (const system of systems) {
    let dataRoot: string;
    try {
      dataRoot = systemData(systemsDir, system).dataRoot;
    } catch {
      continue;
    }
    const versions = tableVersions(dataRoot);
    const newest = newestVersion(versions);
    for (const version of versions) out.push({ system, backend: "trtllm", version, opFamilies: opFamiliesAt(dataRoot, version), newest: version === newest });
  }
  return out;
}

/** The NCCL version directory to use: the YAML's nccl_version when present, else the newest. */
function ncclDir(dataRoot: string, wanted: string | undefined): string | undefined {
  const dirs = sortVersions(listDirs(join(dataRoot, "comm", "nccl")));
  if (dirs.length === 0) return undefined;
  if (wanted && dirs.includes(wanted)) return wanted;
  return dirs[dirs.length - 1];
}

/** Which of the large or model-specific tables to read. */
export interface OpenOptions {
  moe?: boolean;
  mla?: boolean;
  nccl?: boolean;
  /** DeepSeek sparse attention module tables. */
  dsa?: boolean;
}

/**
 * Opens `<systemsDir>/<device>.yaml`'s `data_dir` and the trtllm tables of `version` under it
 * (the layout aiconfigurator/sdk/perf_database.py reads); an empty version is the newest one present for the system. Errors name the
 * missing directory; a missing single table is reported in `missing` and priced by the roofline
 * fallback. The MoE, MLA and NCCL tables are only read when asked for.
 */
export async function openAicDatabase(systemsDir: string, device: string, version: string, opts: OpenOptions = {}): Promise<AicDatabase> {
  if (!systemsDir) throw new InvalidArgumentError("config.database_path", "required for the aic predictor (an AIConfigurator systems directory)");
  if (!device) throw new InvalidArgumentError("config.device_name", "required for the aic predictor (e.g. h100_sxm)");
  if (!isDir(systemsDir)) throw new InvalidArgumentError("config.database_path", `${systemsDir}: no such directory`);
  const { yamlPath, dataRoot } = systemData(systemsDir, device);
  if (!isDir(dataRoot)) throw new InvalidArgumentError("config.device_name", `${dataRoot}: no AIC data directory for ${device}`);
  const available = tableVersions(dataRoot);
  const v = version || newestVersion(available);
  if (!v) throw new InvalidArgumentError("config.backend_version", `no trtllm tables under ${dataRoot}`);
  const tablePath = (family: string, file: string): string => join(dataRoot, family, "trtllm", v, file);
  const ncclVersion = opts.nccl ? ncclDir(dataRoot, gpuFromYaml(yamlPath).ncclVersion) : undefined;
  const files = {
    gemm: tablePath("gemm", "gemm_perf.parquet"),
    contextAttention: tablePath("attention", "context_attention_perf.parquet"),
    generationAttention: tablePath("attention", "generation_attention_perf.parquet"),
    moe: tablePath("moe", "moe_perf.parquet"),
    allReduce: tablePath("comm", "custom_allreduce_perf.parquet"),
    mlaContext: tablePath("mla", "context_mla_perf.parquet"),
    mlaGeneration: tablePath("mla", "generation_mla_perf.parquet"),
    mlaContextModule: tablePath("mla", "mla_context_module_perf.parquet"),
    mlaGenerationModule: tablePath("mla", "mla_generation_module_perf.parquet"),
    mlaBmm: tablePath("mla_bmm", "mla_bmm_perf.parquet"),
    nccl: ncclVersion ? join(dataRoot, "comm", "nccl", ncclVersion, "nccl_perf.parquet") : join(dataRoot, "comm", "nccl", "(none)", "nccl_perf.parquet"),
    dsaContextModule: tablePath("sparse_attention", "dsa_context_module_perf.parquet"),
    dsaGenerationModule: tablePath("sparse_attention", "dsa_generation_module_perf.parquet"),
  };
  const wantedKeys = new Set<keyof typeof files>(["gemm", "contextAttention", "generationAttention", "allReduce"]);
  if (opts.moe) wantedKeys.add("moe");
  if (opts.mla) for (const k of ["mlaContext", "mlaGeneration", "mlaContextModule", "mlaGenerationModule", "mlaBmm"] as const) wantedKeys.add(k);
  if (opts.dsa) for (const k of ["dsaContextModule", "dsaGenerationModule"] as const) wantedKeys.add(k);
  if (opts.nccl) wantedKeys.add("nccl");
  const present = (p: string): boolean => existsSync(p);
  const wanted = [...wantedKeys].map((k) => [k, files[k]] as const);
  const missing = wanted.map(([, p]) => p).filter((p) => !present(p));
  const core = ["gemm", "contextAttention", "generationAttention", "allReduce"].map((k) => files[k as keyof typeof files]);
  if (core.every((p) => !present(p))) {
    const versions = isDir(join(dataRoot, "gemm", "trtllm")) ? readdirSync(join(dataRoot, "gemm", "trtllm")) : available;
    throw new InvalidArgumentError(
      "config.backend_version",
      `no trtllm ${v} tables under ${dataRoot} (e.g. ${files.gemm}; versions here: ${versions.join(", ") || "none"})`,
    );
  }
  const load = <T>(k: keyof typeof files, loader: (p: string) => Promise<T>): Promise<T | undefined> =>
    wantedKeys.has(k) && present(files[k]) ? cachedLoad(files[k], loader) : Promise.resolve(undefined);
  const [
    gemm,
    contextAttention,
    generationAttention,
    moe,
    allReduce,
    mlaContext,
    mlaGeneration,
    mlaContextModule,
    mlaGenerationModule,
    mlaBmm,
    nccl,
    dsaCtx,
    dsaGen,
  ] = await Promise.all([
    load("gemm", loadGemm),
    load("contextAttention", (p) => loadAttention(p, "context")),
    load("generationAttention", (p) => loadAttention(p, "generation")),
    load("moe", loadMoe),
    load("allReduce", loadAllReduce),
    load("mlaContext", (p) => loadMlaKernel(p, "context")),
    load("mlaGeneration", (p) => loadMlaKernel(p, "generation")),
    load("mlaContextModule", (p) => loadMlaModule(p, "context")),
    load("mlaGenerationModule", (p) => loadMlaModule(p, "generation")),
    load("mlaBmm", loadMlaBmm),
    load("nccl", loadNccl),
    load("dsaContextModule", (p) => loadDsaModule(p, "context")),
    load("dsaGenerationModule", (p) => loadDsaModule(p, "generation")),
  ]);
  const t: Tables = {};
  if (gemm) t.gemm = gemm;
  if (contextAttention) t.contextAttention = contextAttention;
  if (generationAttention) t.generationAttention = generationAttention;
  if (moe) t.moe = moe;
  if (allReduce) t.allReduce = allReduce;
  if (mlaContext) t.mlaContext = mlaContext;
  if (mlaGeneration) t.mlaGeneration = mlaGeneration;
  if (mlaContextModule) t.mlaContextModule = mlaContextModule;
  if (mlaGenerationModule) t.mlaGenerationModule = mlaGenerationModule;
  if (mlaBmm) t.mlaBmm = mlaBmm;
  if (nccl) t.nccl = nccl;
  if (dsaCtx) t.dsaContextModule = dsaCtx;
  if (dsaGen) t.dsaGenerationModule = dsaGen;
  return new AicDatabase(t, join(dataRoot, "*", "trtllm", v), missing, v);
}
