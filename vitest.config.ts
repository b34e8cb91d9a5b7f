import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The long runs have their own config (vitest.soak.config.ts, npm run test:soak).
    exclude: [...configDefaults.exclude, "test/soak/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only queue up behind each other and make timing-sensitive
    // process tests flaky.
    maxWorkers: 2,
    minWorkers: 1
  }
})
