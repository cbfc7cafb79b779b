import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * `dslab up broadcast|g-counter --bin CMD` with plain-JavaScript nodes such as
 * a student writes (test/fixtures), driven by `dslab broadcast …` and
 * `dslab counter …`: every node gets its topology right after init (again
 * after a restart), and what goes in at one node is read back at another.
 */
const broadcast_node = `${process.execPath} ${path.join(repo_root, 'test', 'fixtures', 'flood-broadcast.mjs')}`;
const counter_node = `${process.execPath} ${path.join(repo_root, 'test', 'fixtures', 'tell-all-counter.mjs')}`;

/** The topology messages the trace shows delivered, in order: [dest, its neighbours]. */
function topologiesDelivered(cwd: string, cluster: string): [string, unknown][] {
  const lines = readFileSync(path.join(cwd, '.dslab', cluster, 'trace.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines
    .map((line) => JSON.parse(line) as { fate?: string; msg?: { dest: string; body: { type: string; topology?: Record<string, unknown> } } })
    .filter((entry) => entry.fate === 'delivered' && entry.msg?.body.type === 'topology')
    .map((entry) => [entry.msg!.dest, entry.msg!.body.topology![entry.msg!.dest]]);
}

describe('playing Maelstrom workloads live', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const [up, counter] = await Promise.all([dslab(cwd, 'up', 'broadcast', '--bin', broadcast_node, '--nodes', '5', '--detach'), dslab(cwd, 'up', 'g-counter', '--bin', counter_node, '--nodes', '3', '--detach')]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(counter.exitCode, counter.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await cleanup(cwd);
  }, 60_000);

  it('sends every broadcast node its neighbours on the grid before any client operation, and shows them', async () => {
    expect(Object.fromEntries(topologiesDelivered(cwd, 'broadcast'))).toEqual({ n1: ['n4', 'n2'], n2: ['n5', 'n3', 'n1'], n3: ['n2'], n4: ['n1', 'n5'], n5: ['n2', 'n4'] });
    const shown = await dslab(cwd, 'broadcast', 'topology', '--cluster', 'broadcast');
    expect(shown.stdout.trim().split('\n')).toEqual(['n1: n4, n2', 'n2: n5, n3, n1', 'n3: n2', 'n4: n1, n5', 'n5: n2, n4']);
  });

  it('broadcasts at one node and reads the messages back at another', async () => {
    for (const [message, node] of [
      ['17', 'n1'],
      ['"hi"', 'n5'],
    ] as const) {
      const sent = await dslab(cwd, 'broadcast', 'send', message, '--node', node, '--cluster', 'broadcast');
      expect(sent.exitCode, sent.stderr).toBe(0);
      expect(sent.stdout.trim()).toBe(`${node} acknowledged broadcast ${message}`);
    }
    const read = await waitFor('n3 to hold both messages', async () => {
      const result = await dslab(cwd, 'broadcast', 'read', '--node', 'n3', '--cluster', 'broadcast', '--json');
      const messages = (JSON.parse(result.stdout) as { messages?: unknown[] }).messages ?? [];
      return messages.length === 2 ? messages : undefined;
    });
    expect(new Set(read)).toEqual(new Set([17, 'hi']));
  });

  it('sends a restarted node its topology again', async () => {
    expect((await dslab(cwd, 'kill', 'n3', '--cluster', 'broadcast')).exitCode).toBe(0);
    const restart = await dslab(cwd, 'restart', 'n3', '--cluster', 'broadcast');
    expect(restart.exitCode, restart.stderr).toBe(0);
    // The restart returns once n3 answered init and its topology; the trace file is written behind, so wait for it.
    const delivered = await waitFor('the trace to show n3 its topology twice', () => {
      const to_n3 = topologiesDelivered(cwd, 'broadcast').filter(([dest]) => dest === 'n3');
      return to_n3.length >= 2 ? to_n3 : undefined;
    });
    expect(delivered).toEqual([
      ['n3', ['n2']],
      ['n3', ['n2']],
    ]);
  });

  it('adds to the counter at two nodes and reads the sum at the third', async () => {
    expect((await dslab(cwd, 'counter', 'add', '5', '--node', 'n1', '--cluster', 'g-counter')).stdout.trim()).toBe('n1 added 5');
    expect((await dslab(cwd, 'counter', 'add', '2', '--node', 'n2', '--cluster', 'g-counter')).stdout.trim()).toBe('n2 added 2');
    const read = await waitFor('n3 to read 7', async () => {
      const result = await dslab(cwd, 'counter', 'read', '--node', 'n3', '--cluster', 'g-counter');
      return result.stdout.trim() === 'n3 reads 7' ? result : undefined;
    });
    expect(read.exitCode).toBe(0);
    // A g-counter never shrinks: a negative delta is refused before anything is sent.
    const negative = await dslab(cwd, 'counter', 'add', '-1', '--cluster', 'g-counter');
    expect([negative.exitCode, negative.stderr.trim()]).toEqual([1, 'dslab: g-counter add: delta: a g-counter only grows: the delta must be at least 0']);
  });

  it("says in one line what was wrong when a --bin node under another system's label does not speak the command's workload", async () => {
    // Your own node may speak anything (dslab's own nodes are refused before sending: the wrong-kind check's unit tests),
    // so the g-set read is sent, and the broadcast node's answer is named for what it lacks.
    const wrong = await dslab(cwd, 'set', 'read', '--cluster', 'broadcast');
    expect([wrong.exitCode, wrong.stderr.trim()]).toEqual([1, "dslab: read on n1 failed: read_ok's value is missing, not a list"]);
  });
});
