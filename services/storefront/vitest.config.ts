import { defineConfig } from 'vitest/config';

// Browser end-to-end tests start a whole system and a Chromium: one file at a time, generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
