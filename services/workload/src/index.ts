export { DatasetReader, loadDatasetFile, parseDatasetText, type Dataset, type DatasetOptions } from "./dataset.js";
export { computeDatasetMetadata, type DatasetMetadata } from "./metadata.js";
export {
  DEFAULT_SEED,
  DEFAULT_VOCAB_SIZE,
  datasetJsonlLines,
  datasetLine,
  generateLengths,
  generateTokenIds,
  resolveSyntheticSpec,
  TokenIdSampler,
  writeDatasetFile,
  writeDatasetJsonl,
  type NormDistSpec,
  type ResolvedSpec,
  type SyntheticSpec,
  type TokenOptions,
  type UnifDistSpec,
} from "./generator.js";
export { syntheticDataset, type SyntheticOptions } from "./synthetic.js";
export { MT19937 } from "./rng/mt19937.js";
export { NumpyLegacyRandom } from "./rng/numpyLegacy.js";
export { Pcg64 } from "./rng/pcg64.js";
export { PythonRandom } from "./rng/pythonRandom.js";
