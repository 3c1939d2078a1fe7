import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["services/**/test/**/*.test.ts", "clients/**/test/**/*.test.ts", "deploy/**/test/**/*.test.ts", "bench/**/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "dist/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
