import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { gpuFromYaml } from "../catalog/gpus.js";
import { AllReduceTable } from "./allReduceTable.js";
import { AttentionTable } from "./attentionTable.js";
import { GemmTable } from "./gemmTable.js";
import { MoeTable } from "./moeTable.js";
import type { AicTableRows, AllReduceRow, AttentionRow, GemmRow, MoeRow } from "./rows.js";

/** Indexed AIC tables of one system and backend version; any table may be absent. */
export class AicDatabase {
  readonly gemm?: GemmTable;
  readonly contextAttention?: AttentionTable;
  readonly generationAttention?: AttentionTable;
  readonly moe?: MoeTable;
  readonly allReduce?: AllReduceTable;
  /** Where the tables came from (file paths, or "memory"). */
  readonly origin: string;
  /** Tables that were looked for and not found (paths). */
  readonly missing: readonly string[];

  constructor(
    tables: {
      gemm?: GemmTable;
      contextAttention?: AttentionTable;
      generationAttention?: AttentionTable;
      moe?: MoeTable;
      allReduce?: AllReduceTable;
    },
    origin: string,
    missing: readonly string[] = [],
  ) {
    if (tables.gemm) this.gemm = tables.gemm;
    if (tables.contextAttention) this.contextAttention = tables.contextAttention;
    if (tables.generationAttention) this.generationAttention = tables.generationAttention;
    if (tables.moe) this.moe = tables.moe;
    if (tables.allReduce) this.allReduce = tables.allReduce;
    this.origin = origin;
    this.missing = missing;
  }

  /** Builds a database from in-memory rows (tests, generated tables). */
  static fromRows(rows: AicTableRows, origin = "memory"): AicDatabase {
    const t: ConstructorParameters<typeof AicDatabase>[0] = {};
    if (rows.gemm) t.gemm = new GemmTable(rows.gemm);
    if (rows.contextAttention) t.contextAttention = new AttentionTable(rows.contextAttention, "context");
    if (rows.generationAttention) t.generationAttention = new AttentionTable(rows.generationAttention, "generation");
    if (rows.moe) t.moe = new MoeTable(rows.moe);
    if (rows.allReduce) t.allReduce = new AllReduceTable(rows.allReduce);
    return new AicDatabase(t, origin);
  }
}

type Columns = Record<string, unknown[]>;

/** Reads the named columns of a Parquet file (ZSTD via hyparquet-compressors). */
export async function readParquetColumns(path: string, columns: readonly string[]): Promise<Columns> {
  // One read of the whole file: far faster than hyparquet's ranged stream reads for these small tables.
  const buf = await readFile(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const chunks = new Map<string, Array<{ rowStart: number; data: ArrayLike<unknown> }>>();
  await parquetRead({
    file,
    compressors,
    columns: [...columns],
    onChunk: (c) => {
      let list = chunks.get(c.columnName);
      if (!list) chunks.set(c.columnName, (list = []));
      list.push({ rowStart: c.rowStart, data: c.columnData });
    },
  });
  const out: Columns = {};
  for (const name of columns) {
    const list = chunks.get(name);
    if (!list) throw new InvalidArgumentError("config.database_path", `${path}: column "${name}" is missing`);
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

async function loadMoe(path: string): Promise<MoeTable> {
  const cols = ["moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size", "moe_ep_size", "distribution", "latency"];
  const c = await readParquetColumns(path, cols);
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

/**
 * Opens `<systemsDir>/<device>.yaml`'s `data_dir` and the trtllm tables of `version` under it
 * (performance-model.md §4.1). Errors name the missing directory; a missing single table is reported in
 * `missing` and priced by the roofline fallback. The MoE table (large) is only read with `opts.moe`.
 */
export async function openAicDatabase(systemsDir: string, device: string, version: string, opts: { moe?: boolean } = {}): Promise<AicDatabase> {
  if (!systemsDir) throw new InvalidArgumentError("config.database_path", "required for the aic predictor (an AIConfigurator systems directory)");
  if (!device) throw new InvalidArgumentError("config.device_name", "required for the aic predictor (e.g. h100_sxm)");
  if (!version) throw new InvalidArgumentError("config.backend_version", "required for the aic predictor (e.g. 1.2.0rc5)");
  if (!isDir(systemsDir)) throw new InvalidArgumentError("config.database_path", `${systemsDir}: no such directory`);
  const yamlPath = join(systemsDir, `${device}.yaml`);
  if (!existsSync(yamlPath)) {
    const systems = readdirSync(systemsDir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.replace(/\.yaml$/, ""));
    throw new InvalidArgumentError("config.device_name", `${yamlPath}: no such system YAML (systems here: ${systems.join(", ") || "none"})`);
  }
  const sys = gpuFromYaml(yamlPath);
  const dataRoot = join(systemsDir, sys.dataDir ?? join("data", device));
  if (!isDir(dataRoot)) throw new InvalidArgumentError("config.device_name", `${dataRoot}: no AIC data directory for ${device}`);
  const tablePath = (family: string, file: string): string => join(dataRoot, family, "trtllm", version, file);
  const files = {
    gemm: tablePath("gemm", "gemm_perf.parquet"),
    contextAttention: tablePath("attention", "context_attention_perf.parquet"),
    generationAttention: tablePath("attention", "generation_attention_perf.parquet"),
    moe: tablePath("moe", "moe_perf.parquet"),
    allReduce: tablePath("comm", "custom_allreduce_perf.parquet"),
  };
  const wanted = Object.entries(files).filter(([k]) => k !== "moe" || opts.moe === true);
  const present = (p: string): boolean => existsSync(p);
  const missing = wanted.map(([, p]) => p).filter((p) => !present(p));
  if (missing.length === wanted.length) {
    const versions = isDir(join(dataRoot, "gemm", "trtllm")) ? readdirSync(join(dataRoot, "gemm", "trtllm")) : [];
    throw new InvalidArgumentError(
      "config.backend_version",
      `no trtllm ${version} tables under ${dataRoot} (e.g. ${files.gemm}; versions here: ${versions.join(", ") || "none"})`,
    );
  }
  const [gemm, contextAttention, generationAttention, moe, allReduce] = await Promise.all([
    present(files.gemm) ? cachedLoad(files.gemm, loadGemm) : undefined,
    present(files.contextAttention) ? cachedLoad(files.contextAttention, (p) => loadAttention(p, "context")) : undefined,
    present(files.generationAttention) ? cachedLoad(files.generationAttention, (p) => loadAttention(p, "generation")) : undefined,
    opts.moe === true && present(files.moe) ? cachedLoad(files.moe, loadMoe) : undefined,
    present(files.allReduce) ? cachedLoad(files.allReduce, loadAllReduce) : undefined,
  ]);
  const t: ConstructorParameters<typeof AicDatabase>[0] = {};
  if (gemm) t.gemm = gemm;
  if (contextAttention) t.contextAttention = contextAttention;
  if (generationAttention) t.generationAttention = generationAttention;
  if (moe) t.moe = moe;
  if (allReduce) t.allReduce = allReduce;
  return new AicDatabase(t, join(dataRoot, "*", "trtllm", version), missing);
}
