import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import type { LoadStats } from '../../src/lib/load-stats.js';
import { Supervisor } from '../../src/lib/supervisor/supervisor.js';
import { custom_system_view } from '../../src/registry.js';
import { readBreakerRecord } from '../../src/systems/breaker/trace-read.js';
import { breaker_workload } from '../../src/workloads/breaker/plugin.js';
import { repo_root, waitFor } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-breaker-load-');
const fixture = [process.execPath, path.join(repo_root, 'test', 'fixtures', 'breaker-service.mjs')];

/**
 * The breaker load in a real supervisor, against stand-in services that call a stand-in d1
 * (test/fixtures/breaker-service.mjs): what the load counts and what the trace reader finds in the
 * router's trace of the same run agree request for request.
 */
describe('the breaker load against real processes', () => {
  let supervisor: Supervisor;
  beforeAll(async () => {
    supervisor = await Supervisor.start(
      {
        name: 'breaker',
        system: 'breaker',
        groups: [
          { name: 'services', prefix: 's', count: 2, command: fixture },
          { name: 'dependency', prefix: 'd', count: 1, command: fixture },
        ],
        seed: 1,
        home: tempDir(),
        cwd: repo_root,
        init_timeout_ms: 20_000,
        options: { breaker_preset: 'hystrix' },
        view: custom_system_view,
        workloads: ['breaker'],
        workload_groups: { breaker: 'services' },
      },
      { workloads: [breaker_workload] },
    );
  });
  afterAll(async () => {
    await supervisor?.shutdown();
  });

  it('sends rate × duration requests, counts each outcome, and the trace reader reads the same run from the trace', async () => {
    let done: LoadStats | null = null;
    const unsubscribe = supervisor.events.subscribe((event: ClusterEvent) => {
      if (event.type === 'load' && event.phase === 'done') done = event.stats;
    });
    try {
      const started = await supervisor.apply({ type: 'workload', workload: 'breaker', op: 'load', args: { rate_per_s: 200, duration_ms: 1000, bad_pct: 25, seed: 3 } });
      expect(started.description).toBe('breaker load started: 200 requests/s for 1s to s1, s2, 25% bad');
      await waitFor('the load to finish', () => done !== null, 60_000);
    } finally {
      unsubscribe();
    }
    const stats = done! as LoadStats;
    const counts = stats.outcomes!.counts;
    expect(stats.outcomes!.sent).toBe(200);
    expect(counts.ok! + counts.bad_request!).toBe(200);
    expect(counts.bad_request).toBeGreaterThan(20);
    expect(counts.bad_request).toBeLessThan(80);
    expect(stats.outcomes!.by_target.s1!.ok! + stats.outcomes!.by_target.s1!.bad_request!).toBe(100);

    // The trace is written every few ms: wait until it holds every reply.
    const dir = supervisor.paths.dir;
    const record = await waitFor('every reply in the trace', () => {
      const read = readBreakerRecord(dir);
      return read.requests.filter((r) => r.answered_ms !== null).length === 200 && read;
    });
    expect(record.services).toEqual(['s1', 's2']);
    expect(record.dependency).toBe('d1');
    expect(record.config.breaker.min_calls).toBe(20);
    expect(record.requests.filter((r) => r.outcome === 'bad_request')).toHaveLength(counts.bad_request!);
    expect(record.requests.filter((r) => r.outcome === 'ok')).toHaveLength(counts.ok!);
    // Each request made one call; a bad one's refusal is not the dependency's failure.
    expect(record.calls).toHaveLength(200);
    expect(record.calls.filter((c) => c.result === 'ignored')).toHaveLength(counts.bad_request!);
    expect(record.calls.filter((c) => c.result === 'success')).toHaveLength(counts.ok!);

    const [closing] = await supervisor.closingChecks();
    expect(closing).toMatchObject({ workload: 'breaker' });
    expect(closing!.text).toMatch(/^breaker check: /);
    expect(closing).toMatchObject({ result: 'valid' });
    expect(closing!.text).toContain('200 requests and 200 calls to d1 over');
    expect(closing!.text).toMatch(/s1: 100 requests \(ok \d+, bad request \d+\), 100 calls \(1.00 per request\); never opened/);
  });
});
