// Static checks of deploy/Dockerfile and its ignore file (no Docker engine needed).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./render.js";

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = "";
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const instruction = { op: op!.toUpperCase(), args: rest.join(" ") };
    if (instruction.op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!m) throw new Error(`bad FROM: ${line}`);
      stages.push({ image: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.op !== "ARG") throw new Error(`only ARG may precede FROM: ${line}`);
      const [k, v] = instruction.args.split("=");
      args[k!] = v ?? "";
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { args, stages };
}

function execForm(args: string): string[] {
  const v = JSON.parse(args) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`not an exec-form array: ${args}`);
  return v;
}

/** COPY instructions as { from, sources, dest } (flags such as --chown ignored). */
function copies(stage: Stage): Array<{ from?: string; sources: string[]; dest: string }> {
  return stage.instructions
    .filter((i) => i.op === "COPY")
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = words.filter((w) => !w.startsWith("--"));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
}

/** The last WORKDIR of a stage, and a path resolved against it. */
function workdir(stage: Stage): string {
  return stage.instructions.filter((i) => i.op === "WORKDIR").at(-1)?.args ?? "/";
}

/** A .dockerignore matcher: the last matching pattern wins; an excluded directory excludes its content. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = posix.normalize(negate ? l.slice(1) : l).replace(/\/$/, "");
      const source = pattern
        .split("/")
        .map((seg) =>
          seg === "**"
            ? "**"
            : seg
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replace(/\*\*\//g, "(?:.*/)?")
        .replace(/\/\*\*$/, "(?:/.*)?");
      return { negate, re: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    const parts = path.split("/");
    let excluded = false;
    for (const rule of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.re.test(parts.slice(0, n).join("/"))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(REPO_ROOT, dir, prefix)).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    return statSync(join(REPO_ROOT, dir, rel)).isDirectory() ? listFiles(dir, rel) : [`${dir}/${rel}`];
  });
}

const { args, stages } = parseDockerfile(readFileSync(join(REPO_ROOT, "deploy", "Dockerfile"), "utf8"));
const runtime = stages.at(-1)!;
const stageNamed = (name: string | undefined) => stages.find((s) => s.name === name);
const isIgnored = dockerignore(readFileSync(join(REPO_ROOT, "deploy", "Dockerfile.dockerignore"), "utf8"));
const cliPkg = JSON.parse(readFileSync(join(REPO_ROOT, "clients", "cli", "package.json"), "utf8")) as { bin: Record<string, string> };

describe("deploy/Dockerfile", () => {
  it("is multi-stage on a Node 20 slim base, the runtime stage last", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.image).toBe("${NODE_IMAGE}");
    expect(args["NODE_IMAGE"]).toMatch(/^node:20[.\d]*-[a-z]*-?slim$/);
    expect(runtime.name).toBe("runtime");
  });

  it("builds in a stage with dev dependencies: npm ci, codegen, tsc -b of the CLI and everything it uses", () => {
    const build = stages.find((s) => runs(s).some((r) => r.includes("tsc -b clients/cli")));
    expect(build).toBeDefined();
    expect(build).not.toBe(runtime);
    const cmds = runs(build!);
    expect(cmds.some((r) => /\bnpm ci\b/.test(r) && !r.includes("--omit=dev"))).toBe(true);
    expect(cmds.some((r) => r.includes("npm run gen"))).toBe(true);
    const copied = copies(build!).flatMap((c) => c.sources);
    for (const needed of [
      "package.json",
      "package-lock.json",
      "buf.yaml",
      "buf.gen.yaml",
      "tsconfig.json",
      "tsconfig.base.json",
      "scripts/gen.mjs",
      "scripts/runtime-tree.mjs",
      "proto/",
      "services/",
      "clients/",
      "bench/package.json",
      "deploy/package.json",
    ]) {
      expect(copied, needed).toContain(needed);
    }
  });

  it("ships production dependencies only: node_modules from an `npm ci --omit=dev` stage, no install in the runtime stage", () => {
    expect(runs(runtime)).toEqual([]);
    const nodeModules = copies(runtime).find((c) => c.sources.some((s) => s.replace(/\/$/, "").endsWith("/node_modules")));
    expect(nodeModules?.from).toBeDefined();
    const deps = stageNamed(nodeModules!.from)!;
    expect(runs(deps).some((r) => /\bnpm ci\b/.test(r) && r.includes("--omit=dev"))).toBe(true);
    expect(runs(deps).some((r) => r.includes("tsc"))).toBe(false);
  });

  it("copies the runtime tree (package.json files, dist/, descriptor set) built by scripts/runtime-tree.mjs and the health probe", () => {
    const dir = workdir(runtime);
    const dests = copies(runtime).map((c) => ({ ...c, dest: posix.resolve(dir, c.dest) }));
    const build = stageNamed("build")!;
    const tree = /runtime-tree\.mjs (\S+)/.exec(runs(build).find((r) => r.includes("runtime-tree.mjs")) ?? "")?.[1];
    expect(tree).toBe("/runtime");
    expect(dests.find((c) => c.from === "build" && c.sources.includes("/runtime/"))?.dest).toBe(dir);
    expect(dests.find((c) => c.sources.includes("deploy/healthcheck.mjs"))?.dest).toBe("/app/deploy/healthcheck.mjs");
  });

  it("runs as a numeric non-root user", () => {
    const users = runtime.instructions.filter((i) => i.op === "USER").map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    const m = /^(\d+)(?::(\d+))?$/.exec(users.at(-1)!);
    expect(m, users.at(-1)).not.toBeNull();
    expect(Number(m![1])).toBe(10001);
    expect(Number(m![2] ?? m![1])).not.toBe(0);
    const ops = runtime.instructions.map((i) => i.op);
    expect(ops.lastIndexOf("USER")).toBeLessThan(ops.indexOf("ENTRYPOINT"));
  });

  it("has the servesim CLI as entrypoint and serves the predictor by default", () => {
    const entrypoint = execForm(runtime.instructions.find((i) => i.op === "ENTRYPOINT")!.args);
    expect(entrypoint).toEqual(["node", posix.join(workdir(runtime), "clients/cli", cliPkg.bin["servesim"]!)]);
    expect(execForm(runtime.instructions.find((i) => i.op === "CMD")!.args)).toEqual(["serve", "predictor"]);
    const exposed = runtime.instructions.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(["50051", "50052"]));
  });
});

describe("deploy/Dockerfile.dockerignore", () => {
  it("keeps node_modules, build output, generated code and .git out of the context", () => {
    for (const p of [
      "node_modules",
      "node_modules/yaml/package.json",
      "clients/cli/dist",
      "clients/cli/dist/main.js",
      "services/wire/gen",
      "services/wire/gen/servesim.binpb",
      ".git",
      ".git/HEAD",
      "services/x/node_modules/y",
    ]) {
      expect(isIgnored(p), p).toBe(true);
    }
  });

  it("keeps every file the build copies from the context, except tests and Python", () => {
    const contextSources = stages.flatMap((s) =>
      copies(s)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources),
    );
    for (const source of contextSources) {
      const path = source.replace(/\/$/, "");
      expect(existsSync(join(REPO_ROOT, path)), `${path} exists`).toBe(true);
      expect(isIgnored(path), `${path} is in the context`).toBe(false);
      if (statSync(join(REPO_ROOT, path)).isDirectory()) {
        for (const file of listFiles(path)) {
          const expected =
            /(^|\/)(test|dist|node_modules|__pycache__)\/|\.pyc$|\.tsbuildinfo$|^clients\/python\/(?!package\.json$)|^services\/testkit\/src\/|^services\/wire\/gen\//.test(
              file,
            );
          expect(isIgnored(file), file).toBe(expected);
        }
      }
    }
  });

  it("matches like Docker: globs, ** and re-included files", () => {
    const match = dockerignore("deploy\n!deploy/healthcheck.mjs\n**/test\n*.md\n");
    expect(match("deploy/compose.yaml")).toBe(true);
    expect(match("deploy/healthcheck.mjs")).toBe(false);
    expect(match("services/a/test/x.test.ts")).toBe(true);
    expect(match("test/x")).toBe(true);
    expect(match("services/a/src/test.ts")).toBe(false);
    expect(match("README.md")).toBe(true);
    expect(match("docs/deploy.md")).toBe(false);
  });
});
