/** Test clients for grpc.health.v1 and server reflection, loaded from the protos their packages bundle. */
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { type Client, type ClientDuplexStream, credentials, loadPackageDefinition, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { healthProtoPath } from "@servesim/server-common";

const LOADER = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Function>;

function serviceCtor(protoPath: string, path: string[]): Ctor {
  let node: unknown = loadPackageDefinition(loadSync(protoPath, LOADER));
  for (const p of path) node = (node as Record<string, unknown>)[p];
  return node as Ctor;
}

export interface HealthClient {
  check(service: string): Promise<string>;
  /** Opens a Watch stream; `statuses` collects what it receives, `ended` resolves when it ends. */
  watch(service: string): { statuses: string[]; ended: Promise<ServiceError | null>; next(): Promise<string> };
  close(): void;
}

export function healthClient(port: number): HealthClient {
  const Health = serviceCtor(healthProtoPath, ["grpc", "health", "v1", "Health"]);
  const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    check: (service) =>
      new Promise((res, rej) => client.check({ service }, (err: ServiceError | null, r: { status: string }) => (err ? rej(err) : res(r.status)))),
    watch(service) {
      const statuses: string[] = [];
      const waiters: Array<(s: string) => void> = [];
      const call = client.watch({ service });
      call.on("data", (r: { status: string }) => {
        statuses.push(r.status);
        waiters.shift()?.(r.status);
      });
      let seen = 0;
      const ended = new Promise<ServiceError | null>((res) => {
        call.on("error", (e: ServiceError) => res(e));
        call.on("end", () => res(null));
      });
      return {
        statuses,
        ended,
        next: () => (statuses.length > seen ? Promise.resolve(statuses[seen++]!) : new Promise((r) => waiters.push((s) => (seen++, r(s))))),
      };
    },
    close: () => client.close(),
  };
}

export type ReflectionVersion = "v1" | "v1alpha";

export interface ReflectionClient {
  listServices(): Promise<string[]>;
  /** Names of the files a symbol lookup returns (file_containing_symbol). */
  fileContainingSymbol(symbol: string): Promise<{ files: number; error?: string }>;
  close(): void;
}

export function reflectionClient(port: number, version: ReflectionVersion): ReflectionClient {
  const require = createRequire(import.meta.url);
  const protoRoot = resolve(dirname(require.resolve("@grpc/reflection")), "..", "proto");
  const Reflection = serviceCtor(join(protoRoot, "grpc", "reflection", version, "reflection.proto"), ["grpc", "reflection", version, "ServerReflection"]);
  const client = new Reflection(`127.0.0.1:${port}`, credentials.createInsecure());
  const ask = (request: Record<string, unknown>) =>
    new Promise<Record<string, any>>((res, rej) => {
      const call: ClientDuplexStream<unknown, Record<string, any>> = client.ServerReflectionInfo();
      call.on("data", (r) => {
        res(r);
        call.end();
      });
      call.on("error", rej);
      call.write(request);
    });
  return {
    async listServices() {
      const r = await ask({ list_services: "*" });
      return (r.list_services_response.service as Array<{ name: string }>).map((s) => s.name).sort();
    },
    async fileContainingSymbol(symbol) {
      const r = await ask({ file_containing_symbol: symbol });
      if (r.error_response) return { files: 0, error: r.error_response.error_message };
      return { files: r.file_descriptor_response.file_descriptor_proto.length };
    },
    close: () => client.close(),
  };
}
