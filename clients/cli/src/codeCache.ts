/**
 * Runs the bundled CLI (clients/cli/bundle/servesim.cjs, one CommonJS script) with V8's code cache: the
 * bytecode of the functions a command ran is kept in the cache directory, so the next run of that
 * command deserializes it instead of parsing and compiling the 2.6 MB script and each function again
 * (make bench case H: −14 % of a run's instructions). Node 20 has no compile cache for ES modules, so
 * the bundle is CommonJS and compiled here as Node's CommonJS loader would (the same wrapper, require,
 * module and __filename); its dynamic import() calls go through this module's own import().
 *
 * One cache file per bundle build (its content hash, `bundleId`), Node build and command, in the code/
 * folder of the CLI's cache directory: written at exit when it was missing or V8 rejected it (other V8
 * flags, another Node), and then the files of other builds are removed. A cache that cannot be read or
 * written is ignored; SERVESIM_CACHE_DIR=off turns it off with the dataset cache.
 */
import { isAscii } from "node:buffer";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheDir } from "./cacheDir.js";

/** The cache file for this run, or undefined without a cache directory. */
export function codeCachePath(bundleId: string, argv: readonly string[], dir = cacheDir()): string | undefined {
  if (dir === undefined) return undefined;
  // The command's functions are what the cache holds; a name that is no command shares one file.
  const named = argv.find((a) => !a.startsWith("-"));
  const command = named !== undefined && /^[a-z][a-z-]{0,31}$/.test(named) ? named : "-";
  const node = `${process.version}-${process.arch}`;
  return join(dir, "code", `${bundleId}-${node}-${command}.v8`);
}

/** Compiles and runs the CommonJS script `file` (with its code cache at `cachePath`, when given). */
export function runCommonJs(file: string, cachePath: string | undefined): void {
  // The script's import() calls (rewritten by the bundle step) come here: a module's import() keeps working
  // in functions V8 restores from the code cache, a vm.Script's does not.
  (globalThis as { __servesimImport?: (specifier: string) => Promise<unknown> }).__servesimImport = (specifier) => import(specifier);
  const bytes = readFileSync(file);
  // The bundle step writes the script in ASCII: read as Latin-1 it needs no UTF-8 decoding.
  let source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8");
  // The wrapper goes before the first line, where a hashbang may no longer stand: keep the line, not the #!.
  if (source.startsWith("#!")) source = `//${source.slice(2)}`;
  let cachedData: Buffer | undefined;
  if (cachePath !== undefined) {
    try {
      cachedData = readFileSync(cachePath);
    } catch {
      // No cache yet: this run writes it.
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  if (cachePath !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At exit the cache holds every function the command compiled, not only the top level.
    process.once("exit", () => writeCodeCache(cachePath, script));
  }
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

function writeCodeCache(path: string, script: Script): void {
  try {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true });
    // Caches of other builds of the bundle are of no more use (each rebuild would otherwise leave ~1 MB per command).
    const build = `${basename(path).split("-", 1)[0]}-`;
    for (const f of readdirSync(dir)) if (!f.startsWith(build)) rmSync(join(dir, f), { force: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, path);
  } catch {
    // A cache we cannot write only costs the next run the compilation.
  }
}
