import { defineConfig } from 'vitest/config';

// Joining a consumer group and creating topics on a real broker take seconds, not milliseconds.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
