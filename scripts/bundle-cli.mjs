/**
 * Bundles the compiled CLI (clients/cli/dist) into clients/cli/bundle/: servesim.js, the sweep's
 * worker-thread entry worker.js, and the chunks they share. One module graph of a few files instead of
 * about 200 modules to resolve, read and compile cuts a run's start-up (make bench case H).
 *
 * Bundled: servesim's packages and the pure-JavaScript libraries every run loads (gRPC, protobuf,
 * commander, the progress bar, CSV). Left as packages, loaded from node_modules on first use: those that
 * read files next to their own sources, native add-ons, and the ones only some commands need.
 * Run after `tsc -b` (npm run build, make build).
 */
import { rmSync } from "node:fs";
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

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    servesim: join(root, "clients", "cli", "dist", "main.js"),
    // The sweep pool starts its workers from "./worker.js" next to its own module (startWorker): here, next to the bundle.
    worker: join(root, "services", "sweep", "dist", "worker.js"),
    // The dedicated health port's thread (--health-port), started the same way.
    healthWorker: join(root, "services", "server-common", "dist", "healthWorker.js"),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  conditions: ["default"],
  plugins: [externalPackages],
  logLevel: "warning",
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
