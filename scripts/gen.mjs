#!/usr/bin/env node
// Regenerates everything derived from proto/: TypeScript (ts-proto via buf), the descriptor set used
// by server reflection, and the Python stubs (when Debian's protoc + grpc plugin are installed).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, env, stdio: "inherit" });

rmSync(join(root, "services", "wire", "gen"), { recursive: true, force: true });
run(join(bin, "buf"), ["generate"]);
run(join(bin, "buf"), ["build", "-o", "services/wire/gen/servesim.binpb"]);

const protoc = "/usr/bin/protoc";
const plugin = "/usr/bin/grpc_python_plugin";
const pyOut = join(root, "clients", "python", "servesim_client", "gen");
if (existsSync(protoc) && existsSync(plugin)) {
  rmSync(pyOut, { recursive: true, force: true });
  mkdirSync(pyOut, { recursive: true });
  const protos = readdirSync(join(root, "proto", "servesim", "v1")).map((f) => `servesim/v1/${f}`);
  run(protoc, ["-Iproto", `--python_out=${pyOut}`, `--grpc_python_out=${pyOut}`, `--plugin=protoc-gen-grpc_python=${plugin}`, ...protos]);
  for (const d of [pyOut, join(pyOut, "servesim"), join(pyOut, "servesim", "v1")]) writeFileSync(join(d, "__init__.py"), "");
} else {
  console.warn(`gen: ${protoc} or ${plugin} missing; Python stubs not generated (apt-get install protobuf-compiler protobuf-compiler-grpc)`);
}
