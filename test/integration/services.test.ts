import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { cleanup, controlSend, controlStatus, dslab, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

// A node that keeps nothing itself and relays every client request to lin-kv.
const proxy = `node ${path.join(repo_root, 'test', 'fixtures', 'lin-kv-proxy.mjs')}`;

// The two blocks run at once, each with a cluster of its own: the grade mostly waits on its load, and the
// block below on its requests' timeouts.
describe.concurrent("Maelstrom's lin-kv service, reached through the router by a relaying node", () => {
  let cwd: string;
  const status = () => controlStatus(cwd);
  const link = (s: ClusterStatus, name: string) => s.links.find((l) => l.link === name);

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'echo', '--bin', proxy, '--nodes', '3', '--detach', '--seed', '5');
    expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it.sequential('serves dslab kv put, get and cas, and counts the traffic in status', async () => {
    expect((await dslab(cwd, 'kv', 'get', 'x')).stdout.trim()).toBe('x does not exist');
    const put = await dslab(cwd, 'kv', 'put', 'x', '1');
    expect(put.exitCode, put.stderr).toBe(0);
    expect((await dslab(cwd, 'kv', 'get', 'x')).stdout.trim()).toBe('x = 1');
    const refused = await dslab(cwd, 'kv', 'cas', 'x', '5', '6');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^dslab: cas on x failed: current value 1 is not 5 \(code 22\)$/);
    expect((await dslab(cwd, 'kv', 'cas', 'x', '1', '2')).exitCode).toBe(0);
    expect((await dslab(cwd, 'kv', 'get', 'x')).stdout.trim()).toBe('x = 2');
    const s = await status();
    const linKv = s.services!.find((svc) => svc.name === 'lin-kv')!;
    expect(linKv.msgs_in).toBeGreaterThanOrEqual(6);
    expect(linKv.msgs_out).toBe(linKv.msgs_in);
    expect(linKv.errors).toBeGreaterThanOrEqual(2);
    const toService = s.links.filter((l) => l.link.endsWith('->lin-kv')).reduce((sum, l) => sum + l.delivered, 0);
    expect(toService).toBe(linKv.msgs_in);
    expect(s.nodes.every((n) => n.unknown_dest === 0)).toBe(true);
    expect((await dslab(cwd, 'status')).stdout).toMatch(/^services: lin-kv \d+ in, \d+ out \(\d+ errors\)$/m);
  });

  it.sequential('cuts an isolated node off from lin-kv while the others still reach it, until healed', async () => {
    const read = `{"type":"read","key":"x"}`;
    const cut = await dslab(cwd, 'partition', '--isolate', 'n1');
    expect(cut.exitCode, cut.stderr).toBe(0);
    const lost = await dslab(cwd, 'send', 'n1', read, '--timeout', '1500ms');
    expect(lost.exitCode).toBe(1);
    expect(lost.stderr.trim()).toMatch(/^dslab: n1 did not answer read within 1\.5s$/);
    expect(link(await status(), 'n1->lin-kv')!.dropped).toBeGreaterThan(0);
    const fine = await dslab(cwd, 'send', 'n2', read);
    expect(fine.exitCode, fine.stderr).toBe(0);
    expect(JSON.parse(fine.stdout)).toMatchObject({ type: 'read_ok', value: 2 });
    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    await waitFor('n1 to reach lin-kv again', async () => (await controlSend(cwd, 'n1', { type: 'read', key: 'x' }, 2000)).type === 'read_ok');
  });

  it.sequential('takes the service as a name: send to it, isolate it, fault its links; refuses to kill it; lists no init links', async () => {
    const read = `{"type":"read","key":"x"}`;
    const direct = await dslab(cwd, 'send', 'lin-kv', read);
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(JSON.parse(direct.stdout)).toMatchObject({ type: 'read_ok', value: 2 });
    const cut = await dslab(cwd, 'partition', '--isolate', 'lin-kv');
    expect(cut.exitCode, cut.stderr).toBe(0);
    expect(cut.stdout).toContain('{lin-kv}');
    // Every node is cut off from it, and so is a client that names it: its link took the fault too.
    expect((await dslab(cwd, 'send', 'n2', read, '--timeout', '1500ms')).exitCode).toBe(1);
    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    const slow = await dslab(cwd, 'loss', '100%', '--link', 'n3-lin-kv');
    expect(slow.exitCode, slow.stderr).toBe(0);
    expect(slow.stdout).toContain('loss 100% on n3-lin-kv');
    expect((await dslab(cwd, 'send', 'n3', read, '--timeout', '1500ms')).exitCode).toBe(1);
    expect((await dslab(cwd, 'send', 'n2', read)).exitCode).toBe(0);
    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    const kill = await dslab(cwd, 'kill', 'lin-kv');
    expect(kill.exitCode).toBe(1);
    expect(kill.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^dslab: lin-kv is a Maelstrom service inside the supervisor, not a process: .*dslab partition --isolate lin-kv/)]);
    // The supervisor's own client (init) is no user's link.
    expect((await status()).links.map((l) => l.link).filter((l) => l.startsWith('c0') || l.endsWith('->c0'))).toEqual([]);
  });
});

describe.concurrent('dslab grade kv-linearizable on a node that relays to lin-kv', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('passes healthy-cluster (the store is lin-kv; the node sends no state reports)', async () => {
    const run = await dslab(cwd, 'grade', 'kv-linearizable', '--bin', proxy, '--only', 'healthy-cluster', '--json', '--seed', '3');
    const result = JSON.parse(run.stdout) as { score: number; max_score: number; results: { failure: string | null }[] };
    expect(result.results.map((r) => r.failure)).toEqual([null]);
    expect(result.score).toBe(result.max_score);
    expect(run.exitCode).toBe(0);
  }, 120_000);
});
