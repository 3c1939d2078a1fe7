/** Size guards applied while resolving a job (the scheduler service exposes them as settings). */
export interface RunnerLimits {
  /** Most measured requests a job may have (after num_requests). */
  maxRequests: number;
  /** Most Σ (input + output) tokens over the measured requests. */
  maxTotalTokens: number;
  /** Most warm-up requests. */
  maxWarmup: number;
  /** Longest dataset JSONL text accepted, in UTF-16 code units (≈ bytes for ASCII JSONL). */
  maxDatasetChars: number;
  /** Largest dataset file accepted as bytes (DatasetWorkload.content, or streamed). */
  maxDatasetBytes: number;
}

export const DEFAULT_LIMITS: Readonly<RunnerLimits> = {
  maxRequests: 1_000_000,
  maxTotalTokens: 4_000_000_000,
  maxWarmup: 10_000,
  maxDatasetChars: 1_000_000_000,
  maxDatasetBytes: 16 * 1024 ** 3,
};
