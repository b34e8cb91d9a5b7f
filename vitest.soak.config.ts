import { defineConfig } from "vitest/config"

/**
 * The long reliability runs (npm run test:soak): the full figures, one file at a time so
 * their measurements of the daemon are not disturbed by each other.
 */
export default defineConfig({
  test: {
    include: ["test/soak/**/*.test.ts"],
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1
  }
})
