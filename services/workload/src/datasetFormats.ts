import { InvalidArgumentError } from "@servesim/core";
import { CSV_PRESETS, type CsvColumnMap, readCsvTrace } from "./csvTrace.js";
import { type DatasetOptions, readDatasetStream } from "./dataset.js";
import { readTraceJsonl } from "./traceJsonl.js";
import type { Workload } from "./traceWorkload.js";

/** The dataset file formats servesim reads. */
export const DATASET_FORMATS = ["trtllm", "trace", "azure", "burstgpt", "csv"] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface ReadDatasetOptions extends DatasetOptions {
  /** Default "trtllm" (trtllm-bench JSONL). */
  format?: DatasetFormat;
  /** Trace formats: tokens per hash_ids block (default 512). */
  traceBlockSize?: number;
  /** format "csv": the column mapping. */
  csvColumns?: CsvColumnMap;
}

/**
 * Reads a dataset of any format from a stream of byte chunks (a file being read, an upload being
 * received), keeping per request only its lengths, prefix-cache block keys, arrival time and session.
 */
export async function readDataset(
  chunks: AsyncIterable<Uint8Array>,
  label: string,
  datasetPath: string | null,
  options: ReadDatasetOptions = {},
): Promise<Workload> {
  const { format = "trtllm", traceBlockSize, csvColumns, ...common } = options;
  const trace = {
    ...(common.numRequests !== undefined ? { numRequests: common.numRequests } : {}),
    ...(common.maxRequests !== undefined ? { maxRequests: common.maxRequests } : {}),
    ...(common.maxTotalTokens !== undefined ? { maxTotalTokens: common.maxTotalTokens } : {}),
    ...(common.tokensPerBlock !== undefined ? { tokensPerBlock: common.tokensPerBlock } : {}),
    ...(traceBlockSize !== undefined ? { blockSize: traceBlockSize } : {}),
    ...(common.maxInputLength !== undefined ? { maxInputLength: common.maxInputLength } : {}),
  };
  switch (format) {
    case "trtllm":
      return readDatasetStream(chunks, label, datasetPath, common);
    case "trace":
      return readTraceJsonl(chunks, label, datasetPath, { ...trace, approxPromptTokens: common.approxPromptTokens ?? false });
    case "azure":
    case "burstgpt":
      return readCsvTrace(chunks, label, datasetPath, { ...trace, columns: CSV_PRESETS[format] });
    case "csv":
      if (!csvColumns) throw new InvalidArgumentError("csvColumns", "a CSV trace needs its column mapping (timestamp, input and output length columns)");
      return readCsvTrace(chunks, label, datasetPath, { ...trace, columns: csvColumns });
    default:
      throw new InvalidArgumentError("format", `must be one of ${DATASET_FORMATS.join(", ")} (got ${JSON.stringify(format)})`);
  }
}
