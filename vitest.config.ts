import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/helpers/longest-first.js';

// Two files at a time: the real-process tests mostly wait (for elections, timeouts,
// TTLs), so two of them share this 2-core machine; each waits for events with
// generous deadlines rather than timing anything. The files known to take longest
// start first (test/helpers/longest-first.ts), so none is left alone at the end.
export const test_files_at_once = 2;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: test_files_at_once,
    sequence: { sequencer: LongestFirstSequencer },
    // describe.concurrent blocks (independent CLI calls) run at most this many tests at once.
    maxConcurrency: 3,
    // Ink renders only at unmount when it believes it runs in CI (CI=true, as .ci/run sets it), so the
    // dashboard tests, which read each frame, would see another program than a person at a terminal.
    // Clusters take any free ZooKeeper client ports: only the test that runs a program hardwired to
    // 2181 asks for it (up --zk-port 2181), so no other cluster of the suite can be holding it.
    env: { CI: 'false', DSLAB_ZK_PORT: '0' },
  },
});
