import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { InvalidArgumentError } from "@servesim/core";
import { HEALTH_SERVICE_NAME, healthProtoPath } from "./health.js";

export const REFLECTION_SERVICE_NAMES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] as const;

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
