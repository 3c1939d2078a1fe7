import type { ModelFamily, ModelSpec } from "../catalog/modelSpec.js";
import type { ArchitectureFields, FieldChecks } from "./fields.js";

/**
 * One Hugging Face architecture (or several that cost the same): a registry entry
 * (architectures/registry.ts). Adding an architecture is a new file exporting one of these and one
 * registration line.
 */
export interface ArchitectureEntry {
  /** The `architectures` class names it handles, e.g. ["DeepseekV3ForCausalLM"]. */
  readonly classes: readonly string[];
  readonly family: ModelFamily;
  /** What its cost model approximates (docs). */
  readonly approximations: readonly string[];
  /** A sliding_window in config.json is modelled (others reject an active window). */
  readonly slidingWindow: boolean;
  /** Validates the fields and builds the spec; `architecture` is the class the config named. */
  build(f: ArchitectureFields, c: FieldChecks): ModelSpec;
}
