import { InvalidArgumentError } from "@servesim/core";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { type DeepPartial, type EngineConfig, JobSpec, type Workload } from "@servesim/wire/scheduler";

/** A job spec with every message optional (JobSpec.fromPartial fills the defaults). */
export interface DeepPartialSpec {
  name?: string;
  engine?: Partial<EngineConfig>;
  predictor?: Partial<PredictorConfig>;
  workload?: DeepPartial<Workload>;
  modelPath?: string;
}

/** JSONL of `n` requests with the given lengths (token ids 0..isl-1 shifted per request). */
export function jsonl(rows: ReadonlyArray<{ isl: number; osl: number }>): string {
  return rows
    .map((r, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: r.isl }, (_, j) => (i * 7919 + j) % 32000), output_tokens: r.osl }))
    .join("\n");
}

export const uniform = (n: number, isl: number, osl: number): Array<{ isl: number; osl: number }> => Array.from({ length: n }, () => ({ isl, osl }));

export function spec(parts: DeepPartialSpec): JobSpec {
  return JobSpec.fromPartial(parts as never);
}

export function datasetSpec(text: string, engine: Partial<EngineConfig> = {}, predictor: Partial<PredictorConfig> = {}, name = "data.jsonl"): JobSpec {
  return spec({ name: "t", engine, predictor, workload: { dataset: { jsonl: text, name } } });
}

export const llama8bH100: Partial<PredictorConfig> = {
  kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED,
  model: { name: "llama-3.1-8b" },
  gpu: { name: "h100_sxm" },
};

export const constant: Partial<PredictorConfig> = { kind: PredictorKind.PREDICTOR_KIND_CONSTANT };

export function inline(rows: ReadonlyArray<{ taskId?: number; inputLength?: number; outputTokens?: number; inputIds?: number[] }>): Workload {
  return {
    inline: {
      requests: rows.map((r, i) => ({ taskId: r.taskId ?? i, inputLength: r.inputLength ?? 0, outputTokens: r.outputTokens ?? 0, inputIds: r.inputIds ?? [] })),
    },
  };
}

/** Awaits a rejection and returns the InvalidArgumentError (fails the test on anything else). */
export async function invalid(p: Promise<unknown>): Promise<InvalidArgumentError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e;
    throw e;
  }
  throw new Error("expected an InvalidArgumentError, but the call succeeded");
}
