import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The protobuf descriptor set of servesim's protos (built by `npm run gen` into this package's gen/),
 * used for server reflection and for rejecting unknown fields. Found from the sources (src/) and from the
 * compiled package (dist/src/); undefined when it has not been generated.
 */
export function descriptorSetPath(): string | undefined {
  for (const up of [[".."], ["..", ".."]]) {
    const candidate = join(here, ...up, "gen", "servesim.binpb");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
