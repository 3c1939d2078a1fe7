import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "source" export condition.
const conditions = ["source", "import", "module", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["source"] } },
  test: {
    include: ["services/*/test/**/*.test.ts", "clients/*/test/**/*.test.ts", "deploy/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // The CLI's parsed-dataset cache of the tests' runs stays out of the user's cache directory.
    env: { SERVESIM_CACHE_DIR: join(tmpdir(), "servesim-test-cache") },
  },
});
