import { resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "../../..");

/**
 * A path under the shared data directory (aic-systems, model-configs, silicon_sample.csv): `../shared`
 * beside the repository root, or $SERVESIM_SHARED_DIR when set (a worktree that is not beside it).
 * Tests that need it skip with a message when it is absent.
 */
export function sharedDataPath(...parts: string[]): string {
  const dir = process.env["SERVESIM_SHARED_DIR"]?.trim() || resolve(repoRoot, "../shared");
  return resolve(dir, ...parts);
}
