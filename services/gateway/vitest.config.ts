import { defineConfig } from 'vitest/config';

// The integration suites share one broker, one Redis and one PostgreSQL, and one of them stops the broker:
// files run one after another. Joining consumer groups and deciding thousands of purchases take seconds.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
