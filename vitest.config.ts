import { defineConfig } from 'vitest/config';

// Integration tests start real clusters; on a 2-core machine they run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // describe.concurrent blocks (independent CLI calls) run at most this many tests at once.
    maxConcurrency: 3,
  },
});
