import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { DatasetFormat as DatasetFormatProto, DatasetWorkload, TimestampUnit } from "@servesim/wire/scheduler";
import { DATASET_FORMATS, type DatasetFormat } from "@servesim/workload";
import { CliError } from "./cliError.js";

/** The dataset flags of `throughput` and `latency`. */
export interface DatasetFlags {
  dataset: string;
  /** Accept prompt-only dataset lines with ISL = ceil(characters / 4). */
  approxPromptTokens?: boolean;
  /** trtllm | trace | azure | burstgpt | csv | auto (default: detected from the file). */
  datasetFormat?: string;
  /** Tokens per hash_ids block of a trace (default 512). */
  traceBlockSize?: number;
  /** A CSV trace's columns: "timestamp=COL,input=COL,output=COL[,session=COL][,unit=seconds|ms|datetime]". */
  csvColumns?: string;
}

/** A dataset file to stream: opened afresh for every reader (a retried upload reads it again). */
export interface DatasetFile {
  path: string;
  open(): AsyncIterable<Uint8Array>;
  /** The whole file (for a scheduler without SubmitJobStream). */
  readAll(): Promise<Buffer>;
}

const PROTO_FORMAT: Record<DatasetFormat, DatasetFormatProto> = {
  trtllm: DatasetFormatProto.DATASET_FORMAT_TRTLLM_JSONL,
  trace: DatasetFormatProto.DATASET_FORMAT_TRACE_JSONL,
  azure: DatasetFormatProto.DATASET_FORMAT_AZURE_CSV,
  burstgpt: DatasetFormatProto.DATASET_FORMAT_BURSTGPT_CSV,
  csv: DatasetFormatProto.DATASET_FORMAT_CSV,
};

const UNITS: Record<string, TimestampUnit> = {
  auto: TimestampUnit.TIMESTAMP_UNIT_UNSPECIFIED,
  s: TimestampUnit.TIMESTAMP_UNIT_SECONDS,
  seconds: TimestampUnit.TIMESTAMP_UNIT_SECONDS,
  ms: TimestampUnit.TIMESTAMP_UNIT_MILLISECONDS,
  milliseconds: TimestampUnit.TIMESTAMP_UNIT_MILLISECONDS,
  datetime: TimestampUnit.TIMESTAMP_UNIT_DATETIME,
};

const CSV_KEYS: Record<string, "timestamp" | "inputLength" | "outputLength" | "sessionId"> = {
  timestamp: "timestamp",
  input: "inputLength",
  input_length: "inputLength",
  output: "outputLength",
  output_length: "outputLength",
  session: "sessionId",
  session_id: "sessionId",
};

/** --csv-columns "timestamp=TIMESTAMP,input=ContextTokens,output=GeneratedTokens,unit=datetime". */
export function parseCsvColumns(text: string): NonNullable<DatasetWorkload["trace"]>["csvColumns"] {
  const out = { timestamp: "", inputLength: "", outputLength: "", sessionId: "", timestampUnit: TimestampUnit.TIMESTAMP_UNIT_UNSPECIFIED };
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (eq < 0 || value === "") throw new CliError(`--csv-columns: expected key=column pairs separated by commas (got ${JSON.stringify(part.trim())})`);
    if (key === "unit") {
      const unit = UNITS[value.toLowerCase()];
      if (unit === undefined) throw new CliError(`--csv-columns: unit must be seconds, ms or datetime (got ${JSON.stringify(value)})`);
      out.timestampUnit = unit;
    } else if (CSV_KEYS[key]) {
      out[CSV_KEYS[key]] = value;
    } else {
      throw new CliError(`--csv-columns: unknown key ${JSON.stringify(key)} (timestamp, input, output, session, unit)`);
    }
  }
  if (!out.inputLength || !out.outputLength) throw new CliError("--csv-columns needs input=COLUMN and output=COLUMN");
  return out;
}

function checkReadable(path: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`--dataset ${path}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? (e as Error).message})`}`);
  }
  if (isDir) throw new CliError(`--dataset ${path}: is a directory`);
}

/** The first bytes of a file (to recognise its format). */
function head(path: string, bytes = 65536): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString("utf8");
  } catch (e) {
    throw new CliError(`--dataset ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The format of a dataset file from its first line: a JSON object with task_id / input_ids / prompt is a
 * trtllm-bench dataset, one with input_length / hash_ids / text_input / session_id a trace; a CSV header
 * names its trace (Azure: ContextTokens; BurstGPT: Request tokens).
 */
export function detectFormat(path: string): DatasetFormat {
  const text = head(path).replace(/^\uFEFF/, "");
  const first =
    text
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  if (first.startsWith("{")) {
    let obj: Record<string, unknown> | undefined;
    try {
      obj = JSON.parse(first) as Record<string, unknown>;
    } catch {
      return "trtllm"; // a line longer than the peek, or invalid: the reader reports it
    }
    if (obj && typeof obj === "object" && !("task_id" in obj) && ["input_length", "hash_ids", "text_input", "session_id"].some((k) => k in obj)) return "trace";
    return "trtllm";
  }
  if (first.includes("ContextTokens") && first.includes("GeneratedTokens")) return "azure";
  if (first.includes("Request tokens") && first.includes("Response tokens")) return "burstgpt";
  if (path.toLowerCase().endsWith(".csv") || first.includes(",")) {
    throw new CliError(
      `--dataset ${path}: a CSV file of no known trace layout: give --csv-columns (e.g. timestamp=ts,input=prompt_tokens,output=completion_tokens)`,
    );
  }
  return "trtllm";
}

/** The dataset part of a job spec (streamed) and the file behind it. */
export function datasetWorkload(f: DatasetFlags): { workload: DatasetWorkload; file: DatasetFile } {
  const path = f.dataset;
  checkReadable(path);
  let format: DatasetFormat;
  const asked = (f.datasetFormat ?? "auto").trim().toLowerCase();
  if (f.csvColumns !== undefined && asked !== "auto" && asked !== "csv") throw new CliError(`--csv-columns applies to --dataset-format csv (got ${asked})`);
  if (f.csvColumns !== undefined) format = "csv";
  else if (asked === "auto") format = detectFormat(path);
  else if ((DATASET_FORMATS as readonly string[]).includes(asked)) format = asked as DatasetFormat;
  else throw new CliError(`--dataset-format must be auto, ${DATASET_FORMATS.join(", ")} (got ${JSON.stringify(f.datasetFormat)})`);
  if (format === "csv" && f.csvColumns === undefined)
    throw new CliError("--dataset-format csv needs --csv-columns (e.g. timestamp=ts,input=prompt_tokens,output=completion_tokens)");
  const trace: DatasetWorkload["trace"] = {
    blockSize: f.traceBlockSize ?? 0,
    ...(f.csvColumns !== undefined ? { csvColumns: parseCsvColumns(f.csvColumns) } : {}),
  };
  const workload = DatasetWorkload.fromPartial({
    name: path,
    approxPromptTokens: f.approxPromptTokens ?? false,
    streamed: true,
    format: PROTO_FORMAT[format],
    trace,
  });
  return {
    workload,
    file: {
      path,
      open: () => readChunks(path),
      readAll: () => readFile(path),
    },
  };
}

/** The file's bytes in 1 MiB chunks; a read error names the file. */
async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw new CliError(`--dataset ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    stream.destroy();
  }
}

/**
 * A dataset file (any format datasetWorkload detects) carried in the spec itself: what sweeps and
 * searches use, since every point shares it and a sweep job's spec travels once.
 */
export function inlineDataset(path: string): DatasetWorkload {
  const { workload } = datasetWorkload({ dataset: path });
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (e) {
    throw new CliError(`--dataset ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { ...workload, streamed: false, content };
}
