import { deepseekV3Architecture } from "./deepseekV3.js";
import { dsaArchitecture } from "./dsa.js";
import type { ArchitectureEntry } from "./entry.js";
import { gptOssArchitecture } from "./gptOss.js";
import { llamaArchitecture } from "./llama.js";
import { minimaxM2Architecture } from "./minimaxM2.js";
import { mixtralArchitecture } from "./mixtral.js";
import { qwen3MoeArchitecture } from "./qwen3Moe.js";

/** Every architecture servesim prices: one entry per file, registered here. */
export const ARCHITECTURES: readonly ArchitectureEntry[] = [
  llamaArchitecture,
  mixtralArchitecture,
  qwen3MoeArchitecture,
  deepseekV3Architecture,
  dsaArchitecture,
  gptOssArchitecture,
  minimaxM2Architecture,
];

/**
 * Multimodal wrappers whose language model is a registered architecture: the LLM fields are read from
 * `text_config` (Kimi-K2.5 wraps DeepseekV3ForCausalLM).
 */
export const TEXT_CONFIG_WRAPPERS: Readonly<Record<string, string>> = {
  KimiK25ForConditionalGeneration: "DeepseekV3ForCausalLM",
};

const BY_CLASS = new Map<string, ArchitectureEntry>(ARCHITECTURES.flatMap((e) => e.classes.map((c) => [c, e] as const)));

export function architectureEntry(cls: string): ArchitectureEntry | undefined {
  return BY_CLASS.get(cls);
}

/** "LlamaForCausalLM, MistralForCausalLM, ...". */
export function supportedArchitectures(): string {
  return [...ARCHITECTURES.flatMap((e) => e.classes), ...Object.keys(TEXT_CONFIG_WRAPPERS)].join(", ");
}
