#!/usr/bin/env node
// Copies what the servesim image runs into a directory: the root package.json (workspaces), each product
// workspace's package.json and compiled dist/, and the wire package's descriptor set. Test-only
// workspaces (private, no dist/) get their package.json only, so that `npm ci` can still link them.
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? "runtime");
const copy = (rel) => {
  mkdirSync(dirname(join(out, rel)), { recursive: true });
  cpSync(join(root, rel), join(out, rel), { recursive: true });
};
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
copy("package.json");
for (const ws of pkg.workspaces) {
  copy(join(ws, "package.json"));
  if (existsSync(join(root, ws, "dist"))) copy(join(ws, "dist"));
}
copy("services/wire/gen/servesim.binpb");
