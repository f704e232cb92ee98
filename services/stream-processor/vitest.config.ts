import { defineConfig } from 'vitest/config';

// Integration suites run the processor as a child process (dist/main.js) and the CLIs from dist, so the
// global setup builds the package when a source file is newer than its build. Joining consumer groups
// and creating topics on a real broker take seconds.
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    globalSetup: ['test/support/build-once.ts'],
    // Each suite runs processors and a sale against the shared broker: side by side on two cores they
    // starve each other's consumer groups. One file at a time, as in the gateway.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
