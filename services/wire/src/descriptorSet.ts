import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The protobuf descriptor set of servesim's protos (built by `npm run gen` into this package's gen/),
 * used for server reflection and for rejecting unknown fields. Found from the sources (src/), from the
 * compiled package (dist/src/), and through the package's exports map (`@servesim/wire/descriptor-set`)
 * when this code runs bundled elsewhere (the CLI bundle); undefined when it has not been generated.
 */
export function descriptorSetPath(): string | undefined {
  for (const up of [[".."], ["..", ".."]]) {
    const candidate = join(here, ...up, "gen", "servesim.binpb");
    if (existsSync(candidate)) return candidate;
  }
  try {
    const viaPackage = createRequire(import.meta.url).resolve("@servesim/wire/descriptor-set");
    return existsSync(viaPackage) ? viaPackage : undefined;
  } catch {
    return undefined;
  }
}
