import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The long runs have their own config (vitest.soak.config.ts, npm run test:soak).
    exclude: [...configDefaults.exclude, "test/soak/**"],
    // A hang detector, not a speed gate: a test's own waits (10 s each, several in a row) must fit in
    // it on a loaded 2-core machine, where one run was seen at 30 s with the quick benchmark beside.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only queue up behind each other and make timing-sensitive
    // process tests flaky.
    maxWorkers: 2
  }
})
