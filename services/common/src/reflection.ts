import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { healthProtoPath, HEALTH_SERVICE_NAME } from "./health.js";
import { InvalidArgumentError } from "./errors.js";

export const REFLECTION_SERVICE_NAMES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] as const;

const DESCRIPTOR_SET = join("gen", "servesim.binpb");

/**
 * Finds gen/servesim.binpb (built by `npm run gen`) by walking up from this module, so it is found both
 * from the TypeScript sources (services/common/src) and from the compiled dist/services/common/src.
 */
export function findDescriptorSet(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, DESCRIPTOR_SET);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The reflection protos bundled with @grpc/reflection (so reflection can describe itself). */
function reflectionProtoPaths(): string[] {
  const require = createRequire(import.meta.url);
  const root = resolve(dirname(require.resolve("@grpc/reflection")), "..", "proto");
  return ["v1", "v1alpha"].map((v) => join(root, "grpc", "reflection", v, "reflection.proto"));
}

/**
 * Adds server reflection (v1 and v1alpha) describing the given services plus health and reflection
 * themselves, from a protobuf descriptor set. Returns the services the set does not describe (a stale
 * gen/). An unreadable descriptor set is an InvalidArgumentError naming `field`.
 */
export function addReflection(
  server: Server,
  descriptorSetPath: string,
  serviceNames: readonly string[],
  field = "SERVESIM_DESCRIPTOR_SET (--descriptor-set)",
): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(descriptorSetPath);
  } catch (err) {
    throw new InvalidArgumentError(field, `cannot read descriptor set ${descriptorSetPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let definition: PackageDefinition;
  try {
    definition = {
      ...loadFileDescriptorSetFromBuffer(bytes),
      ...loadSync([healthProtoPath, ...reflectionProtoPaths()]),
    };
  } catch (err) {
    throw new InvalidArgumentError(field, `${descriptorSetPath} is not a protobuf descriptor set: ${String(err)}`);
  }
  const described = serviceNames.filter((s) => s in definition);
  const services = [...described, HEALTH_SERVICE_NAME, ...REFLECTION_SERVICE_NAMES];
  // @grpc/reflection types its argument with its own copy of proto-loader; the shape is the same.
  new ReflectionService(definition as never, { services }).addToServer(server);
  return serviceNames.filter((s) => !(s in definition));
}
