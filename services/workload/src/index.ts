export { MT19937, NumpyLegacyRandom } from "@servesim/core";
export { CSV_PRESETS, type CsvColumnMap, parseDateTime, parseDateTimeMs, readCsvTrace, type TimestampUnit } from "./csvTrace.js";
export {
  contextMessage,
  type Dataset,
  type DatasetOptions,
  DatasetReader,
  loadDatasetFile,
  PROMPT_NEEDS_TOKENS,
  parseDatasetText,
  readDatasetStream,
} from "./dataset.js";
export { DATASET_FORMATS, type DatasetFormat, type ReadDatasetOptions, readDataset } from "./datasetFormats.js";
export {
  DEFAULT_SEED,
  DEFAULT_VOCAB_SIZE,
  datasetJsonlLines,
  datasetLine,
  generateLengths,
  generateTokenIds,
  type NormDistSpec,
  promptIds,
  type ResolvedSpec,
  resolveSyntheticSpec,
  type SyntheticSpec,
  sharedPrefixes,
  TokenIdSampler,
  type TokenOptions,
  type UnifDistSpec,
  writeDatasetFile,
  writeDatasetJsonl,
} from "./generator.js";
export { LineSplitter, MAX_LINE_BYTES } from "./lineSplitter.js";
export { computeDatasetMetadata, type DatasetMetadata } from "./metadata.js";
export { PACKED_FIELDS, type PackedRequests, packRequests, unpackRequests } from "./packed.js";
export { Pcg64 } from "./rng/pcg64.js";
export { PythonRandom } from "./rng/pythonRandom.js";
export { convertShareGpt, loadTokenizer, ShareGptConverter, type ShareGptOptions, type ShareGptStats, type TextTokenizer } from "./sharegpt.js";
export { type SyntheticOptions, syntheticDataset } from "./synthetic.js";
export { readTraceJsonl, TraceJsonlReader } from "./traceJsonl.js";
export { DEFAULT_TRACE_BLOCK_SIZE, type Sessions, type TraceRow, TraceWorkloadBuilder, type Workload } from "./traceWorkload.js";
export { hashBlockSeed, outputSeed, uniqueSeed, virtualToken } from "./virtualTokens.js";
