import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only queue up behind each other and make timing-sensitive
    // process tests flaky.
    maxWorkers: 2,
    minWorkers: 1
  }
})
