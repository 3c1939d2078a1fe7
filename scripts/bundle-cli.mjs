/**
 * Bundles the compiled CLI (clients/cli/dist) into clients/cli/bundle/:
 *   servesim.cjs  the whole CLI as one CommonJS script (commands loaded on demand inside it);
 *   servesim.js   the launcher: runs servesim.cjs with V8's code cache (clients/cli/src/codeCache.ts);
 *   worker.js     the sweep's worker-thread entry (an ES module, with the chunks it loads on demand);
 *   healthWorker.js  the dedicated health port's thread (--health-port), an ES module too.
 * One script instead of about 200 modules to resolve, read and compile cuts a run's start-up, and the
 * code cache the compilation that is left (make bench case H). CommonJS because Node 20 caches compiled
 * code only for scripts, not for ES modules.
 *
 * Bundled: servesim's packages and the pure-JavaScript libraries every run loads (gRPC, protobuf,
 * commander, the progress bar, CSV). Left as packages, loaded from node_modules on first use: those that
 * read files next to their own sources, native add-ons, and the ones only some commands need.
 * Run after `tsc -b` (npm run build, make build).
 */
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "clients", "cli", "bundle");
const BUNDLED = [/^@servesim\//, /^@grpc\/grpc-js(\/|$)/, /^@bufbuild\/protobuf(\/|$)/, /^commander(\/|$)/, /^cli-progress(\/|$)/, /^csv-parse(\/|$)/];

/** Every bare import not in BUNDLED stays an import of the installed package. */
const externalPackages = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:") || BUNDLED.some((re) => re.test(args.path))) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  conditions: ["default"],
  plugins: [externalPackages],
  logLevel: "warning",
};

rmSync(outdir, { recursive: true, force: true });
const cli = join(outdir, "servesim.cjs");
await build({
  ...common,
  entryPoints: [join(root, "clients", "cli", "dist", "main.js")],
  outfile: cli,
  format: "cjs",
  // Each module's import.meta.url becomes the script's: files are found next to the bundle, as before.
  define: { "import.meta.url": "__servesimUrl" },
  banner: {
    js: [
      '"use strict";',
      'const __servesimUrl = require("node:url").pathToFileURL(__filename).href;',
      // import() of a package left external goes through the launcher's own import(): functions V8 restores from
      // the code cache lose a vm.Script's dynamic-import callback ("A dynamic import callback was not specified").
      "const __servesimImport = globalThis.__servesimImport ?? ((specifier) => import(specifier));",
    ].join("\n"),
  },
});
// esbuild escapes non-ASCII characters in code but keeps them in comments: escaped there too, the script
// is ASCII, which the launcher reads as Latin-1 (Node 20's UTF-8 file read is far slower) and V8 keeps
// as a one-byte string.
const ascii = readFileSync(cli, "utf8")
  .replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`)
  .replace(/\bimport\("/g, '__servesimImport("');
// Every other import() would run in the cached script and fail there: only the banner's may remain.
const left = ascii.match(/\bimport\(/g)?.length ?? 0;
if (left !== 1) throw new Error(`bundle-cli: ${left - 1} dynamic import() calls with a computed specifier left in servesim.cjs`);
writeFileSync(cli, ascii);
// The code cache's key: a cache compiled from another build of servesim.cjs is never offered to V8.
const bundleId = createHash("sha256").update(ascii).digest("hex").slice(0, 16);
await build({
  ...common,
  stdin: {
    contents: [
      'import { fileURLToPath } from "node:url";',
      'import { codeCachePath, runCommonJs } from "./codeCache.js";',
      `runCommonJs(fileURLToPath(new URL("./servesim.cjs", import.meta.url)), codeCachePath(${JSON.stringify(bundleId)}, process.argv.slice(2)));`,
    ].join("\n"),
    resolveDir: join(root, "clients", "cli", "dist"),
    sourcefile: "launcher.js",
  },
  outfile: join(outdir, "servesim.js"),
  format: "esm",
  banner: { js: "#!/usr/bin/env node" },
});
await build({
  ...common,
  // The sweep pool starts its workers from "./worker.js" next to its own module (startWorker): here, next to the bundle.
  entryPoints: {
    worker: join(root, "services", "sweep", "dist", "worker.js"),
    // The dedicated health port's thread (--health-port), started the same way.
    healthWorker: join(root, "services", "server-common", "dist", "healthWorker.js"),
  },
  outdir,
  splitting: true,
  format: "esm",
  // Bundled CommonJS (grpc-js) calls require and reads __dirname.
  banner: {
    js: [
      'import { createRequire as __servesimRequire } from "node:module";',
      'import { fileURLToPath as __servesimPath } from "node:url";',
      'import { dirname as __servesimDir } from "node:path";',
      "const require = __servesimRequire(import.meta.url);",
      "const __filename = __servesimPath(import.meta.url);",
      "const __dirname = __servesimDir(__filename);",
    ].join("\n"),
  },
});
