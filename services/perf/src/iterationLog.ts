import { InvalidArgumentError } from "@servesim/core";
import type { CalibrationSample } from "./calibrated.js";

/**
 * Converts one Python dict repr line (trtllm-bench iteration log) to JSON text: single-quoted strings
 * become JSON strings, None/True/False become null/true/false outside strings.
 */
export function pythonReprToJson(line: string): string {
  let out = "";
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = "";
      while (j < line.length && line[j] !== c) {
        if (line[j] === "\\" && j + 1 < line.length) {
          const next = line[j + 1]!;
          s += next === "'" ? "'" : next === '"' ? '"' : next === "\\" ? "\\" : next === "n" ? "\n" : next === "t" ? "\t" : `\\${next}`;
          j += 2;
        } else {
          s += line[j];
          j++;
        }
      }
      out += JSON.stringify(s);
      i = j + 1;
      continue;
    }
    const rest = line.slice(i);
    const word = /^(None|True|False|nan|inf|-inf)\b/.exec(rest);
    if (word && !/[A-Za-z0-9_]/.test(line[i - 1] ?? "")) {
      out += word[1] === "None" || word[1] === "nan" || word[1] === "inf" || word[1] === "-inf" ? "null" : word[1] === "True" ? "true" : "false";
      i += word[1]!.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Parses a trtllm-bench iteration log (one Python dict or JSON object per line) into calibration samples. */
export function parseIterationLog(text: string): CalibrationSample[] {
  const samples: CalibrationSample[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (!line) return;
    let obj: unknown;
    try {
      obj = JSON.parse(pythonReprToJson(line));
    } catch (e) {
      throw new InvalidArgumentError(`iteration log line ${idx + 1}`, `not a dict (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== "object") throw new InvalidArgumentError(`iteration log line ${idx + 1}`, "not a dict");
    const o = obj as Record<string, unknown>;
    const stats = (o["inflightBatchingStats"] ?? {}) as Record<string, unknown>;
    const latency = Number(o["iterLatencyMS"]);
    if (!Number.isFinite(latency)) throw new InvalidArgumentError(`iteration log line ${idx + 1}`, "iterLatencyMS is missing");
    const n = (k: string): number => {
      const v = stats[k] ?? o[k];
      return typeof v === "number" ? v : 0;
    };
    const sample: CalibrationSample = {
      numContextRequests: n("numContextRequests"),
      numCtxTokens: n("numCtxTokens"),
      numGenRequests: n("numGenRequests"),
      iterLatencyMS: latency,
    };
    const kv = stats["numGenKvTokens"] ?? o["numGenKvTokens"];
    if (typeof kv === "number") sample.numGenKvTokens = kv;
    if (sample.numContextRequests + sample.numGenRequests > 0) samples.push(sample);
  });
  return samples;
}
