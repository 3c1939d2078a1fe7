import type { ResolvedJob } from "@servesim/runner";

/** What the scheduler keeps of a resolved job at submission when the job itself is not kept (it runs on a worker from its spec). */
export interface JobSummary {
  name: string;
  /** Measured requests. */
  requestsTotal: number;
  warnings: string[];
  /** Input + output tokens of the measured requests. */
  simulatedTokens: number;
  /** Output tokens of the measured requests. */
  outputTokens: number;
  /** The most output tokens of one request, warm-up included. */
  longestOutput: number;
  /** Speculative decoding's draft length (0 without). */
  maxDraftLen: number;
}

export function summarizeJob(job: ResolvedJob): JobSummary {
  let simulatedTokens = 0;
  let outputTokens = 0;
  let longestOutput = 0;
  for (const r of job.requests) {
    simulatedTokens += r.inputLength + r.outputTokens;
    outputTokens += r.outputTokens;
    if (r.outputTokens > longestOutput) longestOutput = r.outputTokens;
  }
  for (const r of job.warmup) if (r.outputTokens > longestOutput) longestOutput = r.outputTokens;
  return {
    name: job.name,
    requestsTotal: job.requests.length,
    warnings: job.warnings,
    simulatedTokens,
    outputTokens,
    longestOutput,
    maxDraftLen: job.engine.speculative?.maxDraftLen ?? 0,
  };
}
