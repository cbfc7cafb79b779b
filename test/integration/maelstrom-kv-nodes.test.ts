import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir, repo_root } from '../helpers/cli.js';

// Maelstrom lin-kv nodes that keep nothing of their own and relay to the lin-kv service: one relays
// every request (correct, though it does not dedupe retries), one answers reads from its own copy (stale).
const proxy = path.join(repo_root, 'test', 'fixtures', 'lin-kv-proxy.mjs');
const relay_bin = `node ${proxy}`;
const stale_bin = `node ${proxy} --local-reads`;

describe('dslab load against Maelstrom lin-kv nodes', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const ups = await Promise.all([
      dslab(cwd, 'up', 'raft', '--bin', relay_bin, '--nodes', '3', '--name', 'relay', '--detach', '--seed', '3'),
      dslab(cwd, 'up', 'raft', '--bin', stale_bin, '--nodes', '3', '--name', 'stale', '--detach', '--seed', '3'),
    ]);
    for (const up of ups) expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  /** A short load on `cluster` with its history; the history's operations. */
  async function load(cluster: string): Promise<{ node?: string }[]> {
    const history = path.join(cwd, `${cluster}.jsonl`);
    const run = await dslab(cwd, 'load', '--cluster', cluster, '--clients', '6', '--rate', '150', '--duration', '2s', '--keys', '2', '--seed', '7', '--history', history);
    expect(run.exitCode, run.stderr).toBe(0);
    return readFileSync(history, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"f"'))
      .map((line) => JSON.parse(line) as { node?: string });
  }

  it('spreads the operations over every node and finds a relay node linearizable', async () => {
    const ops = await load('relay');
    const perNode = new Map<string, number>();
    for (const op of ops) if (op.node) perNode.set(op.node, (perNode.get(op.node) ?? 0) + 1);
    // Six clients on three nodes: each node serves two clients' operations.
    expect([...perNode.keys()].sort()).toEqual(['n1', 'n2', 'n3']);
    for (const count of perNode.values()) expect(count).toBeGreaterThan(ops.length / 6);
    const check = await dslab(cwd, 'check', path.join(cwd, 'relay.jsonl'));
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/valid/);
  });

  it('catches a node that answers reads from its own stale copy', async () => {
    await load('stale');
    const check = await dslab(cwd, 'check', path.join(cwd, 'stale.jsonl'));
    expect(check.exitCode, check.stdout + check.stderr).toBe(1);
    expect(check.stdout).toMatch(/invalid/);
  });

  it('does not send delete, a dslab extension, to Maelstrom nodes, and says why', async () => {
    const del = await dslab(cwd, 'kv', 'del', 'x', '--cluster', 'relay');
    expect(del.exitCode).toBe(1);
    expect(del.stderr.trim()).toMatch(/^dslab: not sent: delete is a dslab extension: Maelstrom's lin-kv workload has only read, write and cas, .* dslab send n1 '\{"type":"delete","key":"x"\}'$/);
    // The nodes are still up: nothing reached them.
    expect((await dslab(cwd, 'kv', 'put', 'x', '1', '--cluster', 'relay')).exitCode).toBe(0);
  });
});
