import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
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

/**
 * SERVESIM_DATA_ROOT for test servers: the shared data directory (when present) and the temp directory
 * (where tests write their own files), so request fields may name files there and nowhere else.
 */
export function testDataRoots(): string {
  return [sharedDataPath(), tmpdir()].filter((d) => existsSync(d)).join(",");
}
