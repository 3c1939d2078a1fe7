/**
 * Checks every grpcurl command in docs/grpcurl.md against the proto contract, because grpcurl is not
 * available here to run them. Each command must use known grpcurl flags and name an existing method or
 * symbol. Each JSON body (`-d '…'`, or a heredoc after `-d @`) must parse strictly as the method's
 * request type, as grpcurl's proto3 JSON parser would: no unknown keys, valid enum names, the right
 * types. The body must also read the same through the ts-proto `fromJSON` the TypeScript code uses.
 *
 * Then the commands are replayed in doc order, the way grpcurl would send them, against in-process
 * predictor and scheduler services: JSON to binary with the descriptor set, raw bytes over grpc-js.
 * Every call must succeed, except where the doc shows an `ERROR:`, which must match. Where the doc
 * shows a complete JSON answer, the answer must be that JSON. `list` must print what reflection lists.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, equals, fromBinary, fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { toBinary, toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@servesim/server-common";
import type { ServerHandle } from "@servesim/server-common";
import { loadPredictorServerConfig } from "@servesim/predictor-service";
import { startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig } from "@servesim/scheduler-service";
import { startSchedulerServer } from "@servesim/scheduler-service";
import * as predictorGen from "@servesim/wire/predictor";
import * as schedulerGen from "@servesim/wire/scheduler";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const doc = readFileSync(resolve(repoRoot, "docs/grpcurl.md"), "utf8");
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(resolve(repoRoot, "services/wire/gen/servesim.binpb"))));

/** grpcurl flags the doc may use, and whether they take a value. */
const FLAGS: Record<string, boolean> = {
  "-plaintext": false,
  "-emit-defaults": false,
  "-msg-template": false,
  "-d": true,
  "-cacert": true,
  "-cert": true,
  "-key": true,
  "-max-msg-sz": true,
};

const HEALTH_METHODS = new Set(["grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"]);
const OTHER_SYMBOLS = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

interface GrpcurlCommand {
  /** The first line of the command, for messages. */
  text: string;
  /** Its line number in the doc (1-based). */
  line: number;
  args: string[];
  /** The heredoc after the command, if any. */
  heredoc?: { body: string; quoted: boolean };
  /** The command reads stdin from a pipe (`… | grpcurl -d @ …`). */
  piped: boolean;
  /** Its output goes to another program (`grpcurl … | jq`). */
  pipesOut: boolean;
  /** The `# …` comment lines right after the command: the output the doc shows. */
  shown: string[];
}

/** Shell words of a command, up to its end: a pipe, a redirection or the closing `)` of `$(`. */
function shellWords(s: string): string[] {
  const words: string[] = [];
  let i = 0;
  let word: string | undefined;
  const push = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\\" && s[i + 1] === "\n") {
      i += 2;
    } else if (c === " " || c === "\t" || c === "\n") {
      push();
      i += 1;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${s}`);
      word = (word ?? "") + s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated " in: ${s}`);
      word = (word ?? "") + s.slice(i + 1, end);
      i = end + 1;
    } else if (c === "|" || c === "<" || c === ")" || c === ">") {
      break;
    } else {
      word = (word ?? "") + c;
      i += 1;
    }
  }
  push();
  return words;
}

/** The grpcurl commands of the doc's bash blocks, with their heredocs. */
function grpcurlCommands(markdown: string): GrpcurlCommand[] {
  const out: GrpcurlCommand[] = [];
  for (const block of markdown.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const firstLine = markdown.slice(0, block.index).split("\n").length + 1;
    const lines = block[1]!.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!;
      const at = line.indexOf("grpcurl ");
      if (line.trimStart().startsWith("#") || at < 0) continue;
      // The command runs until a newline outside quotes and not escaped.
      let text = line.slice(at);
      let quote: string | undefined;
      const scan = (s: string) => {
        for (const ch of s) if (ch === "'" || ch === '"') quote = quote === ch ? undefined : (quote ?? ch);
      };
      scan(text);
      while ((quote || text.endsWith("\\")) && n + 1 < lines.length) {
        n += 1;
        text += "\n" + lines[n]!;
        scan(lines[n]!);
      }
      const cmd: GrpcurlCommand = { text: line.trim(), line: firstLine + n, args: shellWords(text.slice("grpcurl ".length)), piped: /\|\s*grpcurl /.test(line), pipesOut: false, shown: [] };
      const here = /<<(')?(\w+)\1/.exec(text);
      if (here) {
        const body: string[] = [];
        while (n + 1 < lines.length && lines[n + 1] !== here[2]) body.push(lines[++n]!);
        expect(lines[n + 1], `heredoc of ${cmd.text} is closed by ${here[2]}`).toBe(here[2]);
        n += 1;
        cmd.heredoc = { body: body.join("\n"), quoted: here[1] === "'" };
      }
      cmd.pipesOut = /\|\s*jq\b/.test(text) || /^\s*\|\s*jq\b/.test(lines[n + 1] ?? "");
      while (n + 1 < lines.length && lines[n + 1]!.trimStart().startsWith("#")) cmd.shown.push(lines[++n]!.trimStart().replace(/^# ?/, ""));
      out.push(cmd);
    }
  }
  return out;
}

/** A sequence of JSON values written one after another (grpcurl's -d for streams). */
function jsonValues(text: string): JsonValue[] {
  const values: JsonValue[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{" || c === "[") {
      if (depth === 0) start = i;
      depth += 1;
    } else if (c === "}" || c === "]") {
      depth -= 1;
      if (depth === 0) values.push(JSON.parse(text.slice(start, i + 1)) as JsonValue);
    } else if (depth === 0 && !/\s/.test(c)) {
      throw new Error(`unexpected ${JSON.stringify(c)} between JSON values in: ${text}`);
    }
  }
  expect(depth, `balanced JSON in: ${text}`).toBe(0);
  return values;
}

interface Parsed {
  flags: Map<string, string | true>;
  address: string;
  verb: "list" | "describe" | "call";
  target?: string;
}

function parseArgs(cmd: GrpcurlCommand): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < cmd.args.length; i++) {
    const a = cmd.args[i]!;
    if (a.startsWith("-")) {
      expect(Object.keys(FLAGS), `flag ${a} in: ${cmd.text}`).toContain(a);
      if (FLAGS[a]) flags.set(a, cmd.args[++i]!);
      else flags.set(a, true);
    } else {
      positional.push(a);
    }
  }
  const [address, verb, target] = positional;
  expect(address, cmd.text).toMatch(/^[\w.-]+:\d+$/);
  if (verb === "list" || verb === "describe") return { flags, address: address!, verb, ...(target ? { target } : {}) };
  expect(positional, `one method after the address in: ${cmd.text}`).toHaveLength(2);
  return { flags, address: address!, verb: "call", target: verb! };
}

const genModules = { ...predictorGen, ...schedulerGen } as unknown as Record<
  string,
  { fromJSON(o: unknown): unknown; encode(m: unknown): { finish(): Uint8Array } } | undefined
>;

/** The JSON messages a command sends (undefined when they come from a pipe); `$JOB` becomes `job`. */
function requestBodies(cmd: GrpcurlCommand, parsed: Parsed, job: string): JsonValue[] | undefined {
  const body = parsed.flags.get("-d");
  let text: string | undefined;
  if (body === "@") {
    if (cmd.piped) return undefined;
    expect(cmd.heredoc, `-d @ needs a heredoc in: ${cmd.text}`).toBeDefined();
    text = cmd.heredoc!.quoted ? cmd.heredoc!.body : cmd.heredoc!.body.replace(/\$\{?JOB\}?/g, job);
    expect(text, `no shell variables left in: ${cmd.text}`).not.toMatch(/\$/);
  } else if (typeof body === "string") {
    text = body;
  } else {
    expect(cmd.heredoc, `a heredoc without -d @ in: ${cmd.text}`).toBeUndefined();
  }
  return text === undefined ? [] : jsonValues(text);
}

function servesimMethod(path: string) {
  const [service, method] = path.split("/");
  const desc = registry.getService(service!);
  return desc?.methods.find((m) => m.name === method);
}

/** Strict proto3 JSON (grpcurl's behaviour), then ts-proto's reading of the same JSON gives the same message. */
function checkBody(input: DescMessage, value: JsonValue, where: string): void {
  const strict = fromJson(input, value);
  const tsType = genModules[input.name];
  expect(tsType, `ts-proto type ${input.name}`).toBeDefined();
  const viaTsProto = fromBinary(input, tsType!.encode(tsType!.fromJSON(value)).finish());
  expect(equals(input, strict, viaTsProto), `ts-proto fromJSON agrees for ${where}`).toBe(true);
}

const commands = grpcurlCommands(doc);
const calls = commands.map((c) => ({ cmd: c, parsed: parseArgs(c) }));

describe("docs/grpcurl.md", () => {
  it("has grpcurl commands for every RPC of both services, health and reflection", () => {
    const called = new Set(calls.filter((c) => c.parsed.verb === "call").map((c) => c.parsed.target));
    for (const service of ["servesim.v1.PredictorService", "servesim.v1.SchedulerService"]) {
      for (const m of registry.getService(service)!.methods) expect([...called], `an example of ${service}/${m.name}`).toContain(`${service}/${m.name}`);
    }
    expect([...called]).toContain("grpc.health.v1.Health/Check");
    expect(calls.some((c) => c.parsed.verb === "list")).toBe(true);
    expect(calls.some((c) => c.parsed.verb === "describe")).toBe(true);
    expect(calls.filter((c) => c.parsed.flags.has("-d")).length).toBeGreaterThanOrEqual(15);
  });

  it("lists and describes symbols that exist", () => {
    for (const { cmd, parsed } of calls.filter((c) => c.parsed.verb !== "call")) {
      if (!parsed.target) continue;
      const known = OTHER_SYMBOLS.has(parsed.target) || registry.get(parsed.target) !== undefined;
      expect(known, `${parsed.target} in: ${cmd.text}`).toBe(true);
      if (parsed.verb === "list") expect(registry.getService(parsed.target) ?? OTHER_SYMBOLS.has(parsed.target), cmd.text).toBeTruthy();
    }
  });

  const named = calls.filter((c) => c.parsed.verb === "call").map((c) => [`${c.parsed.target} (docs/grpcurl.md:${c.cmd.line})`, c] as const);
  it.each(named)("%s", (_name, { cmd, parsed }) => {
    const path = parsed.target!;
    const values = requestBodies(cmd, parsed, "00000000-0000-0000-0000-000000000000");
    if (values === undefined) return; // the body comes from another program (jq)

    if (HEALTH_METHODS.has(path)) {
      for (const v of values) expect(Object.keys(v as object).every((k) => k === "service"), cmd.text).toBe(true);
      return;
    }
    const method = servesimMethod(path);
    expect(method, `method ${path}`).toBeDefined();
    if (method!.methodKind === "client_streaming" || method!.methodKind === "bidi_streaming") {
      expect(values.length, cmd.text).toBeGreaterThanOrEqual(1);
    } else {
      expect(values.length, cmd.text).toBeLessThanOrEqual(1);
    }
    values.forEach((v, i) => checkBody(method!.input, v, `${path} message ${i}`));
  });

  it("rejects a body with a typo the way grpcurl does (the check is strict)", () => {
    const submit = servesimMethod("servesim.v1.SchedulerService/SubmitJob")!;
    expect(() => fromJson(submit.input, { spec: { engine: { maxBatchSiz: 4 } } })).toThrow(/maxBatchSiz/);
    expect(() => fromJson(submit.input, { spec: { predictor: { kind: "ROOFLINE" } } })).toThrow(/ROOFLINE/);
  });
});

// ---- replay against live services ----------------------------------------------------------------

const identity = (b: Buffer) => b;

/** grpc.health.v1.HealthCheckRequest{service} / HealthCheckResponse{status}, by hand (not in gen/). */
const HEALTH_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
function encodeHealthRequest(v: JsonValue | undefined): Buffer {
  const service = Buffer.from(((v as { service?: string } | undefined)?.service ?? ""), "utf8");
  return service.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, service.length]), service]);
}
const decodeHealthResponse = (b: Buffer): JsonValue => ({ status: HEALTH_STATUS[b.length >= 2 && b[0] === 0x08 ? b[1]! : 0]! });

/** Go's status code names, as grpcurl prints them ("InvalidArgument"). */
const goCodeName = (code: number): string =>
  (grpc.status[code] ?? "Unknown")
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

interface Outcome {
  responses: JsonValue[];
  error?: { code: string; message: string };
}

function reflectionServices(address: string): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const root = resolve(dirname(require.resolve("@grpc/reflection")), "..", "proto");
  type ListServices = { listServicesResponse: { service: Array<{ name: string }> } };
  const pkg = grpc.loadPackageDefinition(loadSync(join(root, "grpc/reflection/v1/reflection.proto"), { includeDirs: [root] })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, ListServices> } } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  return new Promise((done, fail) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (d: ListServices) => {
      done(d.listServicesResponse.service.map((s) => s.name));
      call.end();
      client.close();
    });
    call.on("error", fail);
    call.write({ listServices: "" });
  });
}

describe("docs/grpcurl.md replayed against live services", () => {
  let predictor: ServerHandle;
  let scheduler: ServerHandle;
  let client: { predictor: grpc.Client; scheduler: grpc.Client };
  let job = "";

  beforeAll(async () => {
    const logger = createLogger({ name: "grpcurl-doc", level: "silent" });
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), logger);
    scheduler = await startSchedulerServer(
      loadSchedulerServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` } }),
      logger,
    );
    client = {
      predictor: new grpc.Client(`127.0.0.1:${predictor.port}`, grpc.credentials.createInsecure()),
      scheduler: new grpc.Client(`127.0.0.1:${scheduler.port}`, grpc.credentials.createInsecure()),
    };
  });

  afterAll(async () => {
    client?.predictor.close();
    client?.scheduler.close();
    scheduler?.forceShutdown();
    predictor?.forceShutdown();
    await Promise.all([scheduler?.closed, predictor?.closed]);
  });

  const serverOf = (address: string): "predictor" | "scheduler" | undefined =>
    address === "localhost:50051" ? "predictor" : address === "localhost:50052" ? "scheduler" : undefined;

  async function call(server: "predictor" | "scheduler", path: string, bodies: JsonValue[]): Promise<Outcome> {
    const c = client[server];
    const method = servesimMethod(path);
    const encode = (v: JsonValue | undefined): Buffer =>
      method ? Buffer.from(toBinary(method.input, fromJson(method.input, v ?? {}))) : encodeHealthRequest(v);
    const decode = (b: Buffer): JsonValue => (method ? toJson(method.output, fromBinary(method.output, b)) : decodeHealthResponse(b));
    const responses: JsonValue[] = [];
    const fullPath = `/${path}`;
    return new Promise<Outcome>((done) => {
      const fail = (e: grpc.ServiceError) => done({ responses, error: { code: goCodeName(e.code), message: e.details } });
      const kind = method?.methodKind ?? "unary";
      if (kind === "unary") {
        c.makeUnaryRequest(fullPath, identity, identity, encode(bodies[0]), (err, res) => {
          if (err) return fail(err);
          responses.push(decode(res!));
          done({ responses });
        });
        return;
      }
      const stream =
        kind === "server_streaming"
          ? c.makeServerStreamRequest(fullPath, identity, identity, encode(bodies[0]))
          : c.makeBidiStreamRequest(fullPath, identity, identity);
      stream.on("data", (b: Buffer) => responses.push(decode(b)));
      stream.on("error", fail);
      stream.on("end", () => done({ responses }));
      if (kind !== "server_streaming") {
        const duplex = stream as grpc.ClientDuplexStream<Buffer, Buffer>;
        for (const b of bodies) duplex.write(encode(b));
        duplex.end();
      }
    });
  }

  const replayed = commands
    .map((cmd) => ({ cmd, parsed: parseArgs(cmd) }))
    .filter(({ parsed }) => serverOf(parsed.address) !== undefined && parsed.target !== "grpc.health.v1.Health/Watch" && parsed.verb !== "describe");

  it.each(replayed.map((r) => [`${r.parsed.verb} ${r.parsed.target ?? ""} (docs/grpcurl.md:${r.cmd.line})`, r] as const))("%s", async (_name, { cmd, parsed }) => {
    const server = serverOf(parsed.address)!;
    const port = server === "predictor" ? predictor.port : scheduler.port;
    if (parsed.verb === "list") {
      const services = (await reflectionServices(`127.0.0.1:${port}`)).sort();
      const printed = parsed.target ? registry.getService(parsed.target)!.methods.map((m) => `${parsed.target}.${m.name}`).sort() : services;
      if (cmd.shown.length > 0) expect(printed).toEqual(cmd.shown);
      if (!parsed.target) expect(services).toContain(server === "predictor" ? "servesim.v1.PredictorService" : "servesim.v1.SchedulerService");
      return;
    }
    const bodies = requestBodies(cmd, parsed, job);
    if (bodies === undefined) return; // the body comes from jq
    const outcome = await call(server, parsed.target!, bodies);

    if (cmd.shown[0] === "ERROR:") {
      const code = /^\s*Code: (\w+)/.exec(cmd.shown[1] ?? "")?.[1];
      const message = /^\s*Message: (.*)$/.exec(cmd.shown[2] ?? "")?.[1];
      expect(outcome.error, `${cmd.text} fails as the doc shows`).toEqual({ code, message });
      return;
    }
    expect(outcome.error, `${cmd.text} (${JSON.stringify(bodies)})`).toBeUndefined();
    if (cmd.text.startsWith("JOB=$(")) job = ((outcome.responses[0] as { job: { id: string } }).job.id);

    const shown = cmd.shown.join("\n");
    if (!cmd.pipesOut && shown.startsWith("{") && !shown.includes("…")) expect(outcome.responses).toEqual(jsonValues(shown));
    if (parsed.target === "servesim.v1.SchedulerService/WatchJob") {
      const last = outcome.responses.at(-1) as { job: { state: string }; result?: { numRequests: number } };
      expect(last.job.state).toBe("JOB_STATE_SUCCEEDED");
      expect(last.result?.numRequests).toBe(100);
    }
  });

  it("ran the job the doc submits", () => {
    expect(job).toMatch(/^[0-9a-f-]{36}$/);
  });
});
