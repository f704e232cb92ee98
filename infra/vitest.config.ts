import { defineConfig } from 'vitest/config';

// The infrastructure suite starts Kafka's own console consumer (a JVM) and waits on the real broker:
// seconds, and more on a busy machine.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
