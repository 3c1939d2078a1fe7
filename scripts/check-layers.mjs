#!/usr/bin/env node
// The build's layering check (run by `make build` and `make test`). servesim's packages form layers, and
// dependencies flow one way, downwards:
//
//   cli / services  →  runner  →  cluster  →  engine · perf · workload · report  →  wire  →  core
//
// For every workspace this fails the build when
//   - a package.json dependency on another @servesim package does not point to a lower layer
//     (an upward or sideways import; this also rules out cycles);
//   - a built package's tsconfig.json references differ from its @servesim dependencies;
//   - a source file imports a package (ours or npm's) its package.json does not declare, or a subpath
//     the imported package does not export;
//   - a relative import leaves the file's package (packages talk through their public API only).
// Product code (src/) may use `dependencies` only; tests may also use `devDependencies`, whose
// @servesim entries must also be lower, except the test-only @servesim/testkit.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Bottom to top. A package may depend on packages of lower layers only. */
export const LAYERS = [
  ["@servesim/core"],
  ["@servesim/wire"],
  ["@servesim/engine", "@servesim/server-common", "@servesim/client"],
  ["@servesim/workload", "@servesim/perf"],
  ["@servesim/report"],
  ["@servesim/cluster"],
  ["@servesim/runner", "@servesim/html"],
  ["@servesim/sweep"],
  ["@servesim/predictor-service", "@servesim/scheduler-service"],
  ["@servesim/cli"],
  ["@servesim/testkit", "@servesim/bench"],
  ["@servesim/deploy", "@servesim/client-python"],
];
const TEST_ONLY = "@servesim/testkit";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
const rootPkg = readJson(join(root, "package.json"));
const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));
const errors = [];
const fail = (msg) => errors.push(msg);

const workspaces = rootPkg.workspaces.map((dir) => ({ dir, pkg: readJson(join(root, dir, "package.json")) }));
const byName = new Map(workspaces.map((w) => [w.pkg.name, w]));
for (const { dir, pkg } of workspaces) if (!layerOf.has(pkg.name)) fail(`${dir}: ${pkg.name} is in no layer of scripts/check-layers.mjs`);
for (const name of layerOf.keys()) if (!byName.has(name)) fail(`scripts/check-layers.mjs names ${name}, which is no workspace`);

const ours = (deps) => Object.keys(deps ?? {}).filter((d) => d.startsWith("@servesim/"));

for (const { dir, pkg } of workspaces) {
  const layer = layerOf.get(pkg.name);
  for (const dep of ours(pkg.dependencies)) {
    if (!(layerOf.get(dep) < layer))
      fail(`${dir}/package.json: ${pkg.name} (layer ${layer}) depends on ${dep} (layer ${layerOf.get(dep)}): dependencies must point to a lower layer`);
  }
  for (const dep of ours(pkg.devDependencies)) {
    if (dep !== TEST_ONLY && !(layerOf.get(dep) < layer)) fail(`${dir}/package.json: ${pkg.name}'s tests use ${dep}, which is not in a lower layer`);
  }
  const tsconfig = join(root, dir, "tsconfig.json");
  if (existsSync(tsconfig)) {
    const refs = (readJson(tsconfig).references ?? []).map((r) => byDir(resolve(root, dir, r.path))).sort();
    const deps = ours(pkg.dependencies).sort();
    if (JSON.stringify(refs) !== JSON.stringify(deps)) fail(`${dir}/tsconfig.json: references [${refs}] differ from the @servesim dependencies [${deps}]`);
  }
}

function byDir(abs) {
  const w = workspaces.find((x) => resolve(root, x.dir) === abs);
  return w ? w.pkg.name : `(no workspace at ${relative(root, abs)})`;
}

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist" || entry === "gen" || entry.startsWith(".")) continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs)$/.test(entry) && !entry.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|[\s;}])(?:import|export)\s[^;'"]*?from\s*["']([^"']+)["']|(?:^|[\s;}(=])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g;
const builtins = new Set(builtinModules);

function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function exported(pkg, subpath) {
  const exp = pkg.exports;
  if (exp === undefined) return subpath === ".";
  if (typeof exp === "string") return subpath === ".";
  const keys = Object.keys(exp);
  return keys[0]?.startsWith(".") ? keys.includes(subpath) : subpath === ".";
}

for (const { dir, pkg } of workspaces) {
  const pkgDir = join(root, dir);
  const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  for (const file of sourceFiles(pkgDir)) {
    const rel = relative(root, file);
    const isTest =
      /(^|\/)test\//.test(relative(pkgDir, file)) || pkg.name === TEST_ONLY || (pkg.private === true && !existsSync(join(pkgDir, "tsconfig.json")));
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (!(target + sep).startsWith(pkgDir + sep)) fail(`${rel}: relative import "${spec}" leaves ${pkg.name}; import the package instead`);
        continue;
      }
      if (spec.startsWith("node:") || builtins.has(spec)) continue;
      const name = packageOf(spec);
      if (name === pkg.name) {
        fail(`${rel}: imports its own package "${spec}"; use a relative import`);
        continue;
      }
      if (!runtime.has(name) && !(isTest && dev.has(name))) {
        fail(`${rel}: imports "${spec}" but ${dir}/package.json does not declare ${name}${isTest ? " (dependencies or devDependencies)" : " in dependencies"}`);
        continue;
      }
      const target = byName.get(name);
      if (target) {
        const sub = spec === name ? "." : `.${spec.slice(name.length)}`;
        if (!exported(target.pkg, sub)) fail(`${rel}: "${spec}" is not exported by ${name} (its package.json "exports")`);
      }
    }
  }
}

if (errors.length > 0) {
  process.stderr.write(`check-layers: ${errors.length} violation(s)\n${errors.map((e) => `  ${e}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`check-layers: ${workspaces.length} packages in ${LAYERS.length} layers, dependencies flow downwards\n`);
