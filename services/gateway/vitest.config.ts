import { defineConfig } from 'vitest/config';

// The integration suites share one broker, one Redis and one PostgreSQL, and each starts a whole system
// (two child services beside the gateway): files run one after another, or a 2-core machine starves them. Joining consumer groups and deciding thousands of purchases take seconds.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
