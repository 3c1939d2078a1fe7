import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The CLI's cache directory (parsed datasets, the bundle's compiled code): SERVESIM_CACHE_DIR, default
 * $XDG_CACHE_HOME/servesim, else ~/.cache/servesim; undefined when SERVESIM_CACHE_DIR=off.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env["SERVESIM_CACHE_DIR"];
  if (dir !== undefined && dir.trim().toLowerCase() === "off") return undefined;
  if (dir) return resolve(dir);
  return join(env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "servesim");
}
