import { Readable } from "node:stream";
import { InvalidArgumentError } from "@servesim/core";
import type { CsvError } from "csv-parse";
import { TraceWorkloadBuilder, type TraceWorkloadOptions, type Workload } from "./traceWorkload.js";

export type TimestampUnit = "auto" | "seconds" | "milliseconds" | "datetime";

/** Which CSV columns (by header name) hold what. */
export interface CsvColumnMap {
  /** Arrival time; undefined: no timestamps. */
  timestamp?: string;
  inputLength: string;
  outputLength: string;
  /** Rows with equal values are the turns of one session, in file order. */
  sessionId?: string;
  /** Default "auto": seconds for a number, a date-time otherwise. */
  timestampUnit?: TimestampUnit;
}

/** The public traces' layouts. */
export const CSV_PRESETS = {
  /** Azure LLM inference traces 2023/2024 (AzureLLMInferenceTrace_conv.csv, _code.csv). */
  azure: { timestamp: "TIMESTAMP", inputLength: "ContextTokens", outputLength: "GeneratedTokens", timestampUnit: "datetime" },
  /** BurstGPT (BurstGPT_1.csv, ...): Timestamp in seconds since the trace's start. */
  burstgpt: { timestamp: "Timestamp", inputLength: "Request tokens", outputLength: "Response tokens", timestampUnit: "seconds" },
} as const satisfies Record<string, CsvColumnMap>;

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * "2023-11-16 18:15:46.6805900" or ISO 8601 (UTC unless a zone is given) as [whole milliseconds since the
 * epoch, the fraction of a millisecond]: kept apart, a 100-ns fraction survives (epoch milliseconds as
 * one double are only good to about 0.2 µs). Undefined if malformed.
 */
export function parseDateTime(s: string): [number, number] | undefined {
  const m = DATETIME.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const whole = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  const check = new Date(whole);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || Number(mi) > 59 || Number(se) > 59) return undefined;
  let offsetMs = 0;
  if (zone && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const fracMs = frac ? Number(`0.${frac}`) * 1000 : 0;
  const wholeFrac = Math.floor(fracMs);
  return [whole - offsetMs + wholeFrac, fracMs - wholeFrac];
}

/** Milliseconds since the epoch of a date-time (see parseDateTime); NaN if malformed. */
export function parseDateTimeMs(s: string): number {
  const t = parseDateTime(s);
  return t ? t[0] + t[1] : Number.NaN;
}

export interface CsvTraceOptions extends TraceWorkloadOptions {
  columns: CsvColumnMap;
}

const INTEGER = /^\s*\d+(\.0*)?\s*$/;

let csvErrorClass: typeof CsvError | undefined;

/**
 * A CSV trace read through a column mapping (a maintained parser: quoted fields may hold commas, quotes
 * and newlines). One request per row; rows whose input or output is 0 (BurstGPT logs failed requests so)
 * are skipped with a warning. Errors name the file and the line.
 */
export async function readCsvTrace(chunks: AsyncIterable<Uint8Array>, label: string, datasetPath: string | null, options: CsvTraceOptions): Promise<Workload> {
  const { columns: map, ...rest } = options;
  const builder = new TraceWorkloadBuilder(label, datasetPath, rest);
  const unit = map.timestampUnit ?? "auto";
  // Loaded on first use: only CSV traces need the parser (start-up time is part of every run).
  const { parse, CsvError: CsvErrorClass } = await import("csv-parse");
  csvErrorClass = CsvErrorClass;
  const parser = parse({ columns: true, bom: true, skip_empty_lines: true, trim: true, info: true, max_record_size: 1 << 20 });
  const source = Readable.from(chunks);
  source.on("error", (e) => parser.destroy(e));
  source.pipe(parser);
  let header: string[] | undefined;
  const skipped = { input: 0, output: 0 };
  let epoch: number | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; columns: { name: string }[] } }>) {
      const where = `${label} line ${info.lines}`;
      if (header === undefined) {
        header = info.columns.map((c) => c.name);
        for (const [what, name] of [
          ["timestamp", map.timestamp],
          ["input length", map.inputLength],
          ["output length", map.outputLength],
          ["session id", map.sessionId],
        ] as const) {
          if (name !== undefined && !header.includes(name)) {
            throw new InvalidArgumentError(
              `${label} line 1`,
              `no ${what} column ${JSON.stringify(name)} (columns: ${header.map((c) => JSON.stringify(c)).join(", ")})`,
            );
          }
        }
      }
      const int = (name: string, what: string): number => {
        const v = record[name] ?? "";
        if (!INTEGER.test(v))
          throw new InvalidArgumentError(
            where,
            `${what} (column ${JSON.stringify(name)}) must be a whole number of tokens (got ${JSON.stringify(v.slice(0, 40))})`,
          );
        return Math.round(Number(v));
      };
      const inputLength = int(map.inputLength, "input length");
      const outputLength = int(map.outputLength, "output length");
      if (inputLength === 0) {
        skipped.input++;
        continue;
      }
      if (outputLength === 0) {
        skipped.output++;
        continue;
      }
      let timestampMs: number | undefined;
      if (map.timestamp !== undefined) {
        const raw = record[map.timestamp] ?? "";
        const numeric = raw !== "" && Number.isFinite(Number(raw));
        const u = unit === "auto" ? (numeric ? "seconds" : "datetime") : unit;
        if (u === "datetime") {
          const t = parseDateTime(raw);
          // Relative to the first row's whole milliseconds, so the fraction keeps its precision.
          if (t) epoch ??= t[0];
          timestampMs = t ? t[0] - epoch! + t[1] : Number.NaN;
        } else {
          timestampMs = numeric ? Number(raw) * (u === "seconds" ? 1000 : 1) : Number.NaN;
        }
        if (!Number.isFinite(timestampMs)) {
          const expected = u === "datetime" ? "a date-time such as 2023-11-16 18:15:46.6805900" : `a number of ${u}`;
          throw new InvalidArgumentError(
            where,
            `timestamp (column ${JSON.stringify(map.timestamp)}) must be ${expected} (got ${JSON.stringify(raw.slice(0, 40))})`,
          );
        }
      }
      const session = map.sessionId !== undefined ? record[map.sessionId] : undefined;
      builder.add({
        where,
        inputLength,
        outputLength,
        ...(session !== undefined && session !== "" ? { session } : {}),
        ...(timestampMs !== undefined ? { timestampMs } : {}),
      });
      if (builder.full) break;
    }
  } catch (e) {
    if (csvErrorClass !== undefined && e instanceof csvErrorClass) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw new InvalidArgumentError(line ? `${label} line ${line}` : label, `invalid CSV: ${e.message.replace(/^Invalid [^:]*: /, "")}`);
    }
    throw e;
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (skipped.output > 0) builder.warnings.push(`${label}: ${skipped.output} rows with 0 output tokens skipped (failed requests)`);
  if (skipped.input > 0) builder.warnings.push(`${label}: ${skipped.input} rows with 0 input tokens skipped`);
  // A trace that ends at the header (or has rows that were all skipped) is empty: finish() says so.
  return builder.finish();
}
