import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultPromise } from 'execa';
import type { ClusterEvent, ClusterStatus } from '../../src/lib/control/api.js';
import { cleanup, controlSend, controlStatus, dslab, dslabJson, dslabSpawn, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

const forwarder = path.join(repo_root, 'test', 'fixtures', 'forwarder.mjs');

// Nodes that forward every client request to one node under the client's own id, as Maelstrom allows,
// and report no role. The target is n3, so that the kv client's first choice (n1) is a forwarding node.
describe('a node forwarding client requests under the client id', () => {
  let cwd: string;
  const status = () => controlStatus(cwd);
  const node = (s: ClusterStatus, id: string) => s.nodes.find((n) => n.id === id)!;
  const link = (s: ClusterStatus, name: string) => s.links.find((l) => l.link === name)!;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'student', '--bin', `node ${forwarder} n3`, '--nodes', '3', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await cleanup(cwd);
  });

  it('says why there is no leader to kill before any client write', async () => {
    const kill = await dslab(cwd, 'kill', 'leader');
    expect(kill.exitCode).toBe(1);
    expect(kill.stderr.trim().split('\n')).toHaveLength(1);
    expect(kill.stderr).toMatch(/^dslab: no leader is known: the nodes report no role .*and no node has answered a client write/);
  });

  it('delivers the forwarded request and lets the reply reach the client', async () => {
    // send never retries: only the forward can answer it, as n2 itself never replies.
    const echo = await dslabJson<{ type: string; answered_by: string }>(cwd, 'send', 'n2', '{"type":"echo","echo":"hi"}');
    expect(echo).toMatchObject({ type: 'echo_ok', answered_by: 'n3' });
    const put = await dslabJson<{ outcome: string }>(cwd, 'kv', 'put', 'x', '5');
    expect(put.outcome).toBe('ok');
    expect((await dslabJson<{ result: unknown }>(cwd, 'kv', 'get', 'x')).result).toBe(5);
    const s = await status();
    expect(node(s, 'n2').forwarded).toBe(1);
    expect(node(s, 'n1').forwarded).toBeGreaterThanOrEqual(1);
    expect(s.nodes.map((n) => n.garbage_lines)).toEqual([0, 0, 0]);
    expect(link(s, 'n2->n3').delivered).toBe(1);
  });

  it('infers the leader from the node that answered a write, and shows it as inferred', async () => {
    const s = await status();
    expect(s).toMatchObject({ leader: 'n3', leader_inferred: true });
    const text = (await dslab(cwd, 'status')).stdout;
    expect(text.split('\n')[0]).toContain('leader n3 (inferred from client replies)');
    expect(text).toMatch(/NODE\s+PID\s+STATUS\s+IN\s+OUT\s+FWD\s+PROBLEMS/);
    expect(text).toMatch(/\nn2\s+\d+\s+up\s+\d+\s+\d+\s+1\s/);
  });

  it('still counts a message under an unknown client id or another node id as garbage', async () => {
    expect((await dslabJson<{ type: string }>(cwd, 'send', 'n3', '{"type":"spoof"}')).type).toBe('spoof_ok');
    const s = await status();
    expect(node(s, 'n3').garbage_lines).toBe(2);
    expect(node(s, 'n3').forwarded).toBe(0);
  });

  it('cuts a client off when a fault names it (dslab send is client c1), leaves other clients alone, and heal restores it', async () => {
    const before = await status();
    const isolated = await dslab(cwd, 'partition', '--isolate', 'c1');
    expect(isolated.exitCode, isolated.stderr).toBe(0);
    expect(isolated.stdout).toContain('partition {c1} | {n1,n2,n3}');
    const cut = await dslab(cwd, 'send', 'n3', '{"type":"echo","echo":"cut"}', '--timeout', '1s');
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toMatch(/^dslab: n3 did not answer echo within 1s/);
    // kv borrows a pool client (c1001…), which the partition does not name.
    expect((await dslabJson<{ outcome: string }>(cwd, 'kv', 'put', 'k', '1')).outcome).toBe('ok');
    const during = await status();
    expect(link(during, 'c1->n3').dropped).toBe((link(before, 'c1->n3')?.dropped ?? 0) + 1);
    expect(during.nodes.map((n) => n.garbage_lines)).toEqual(before.nodes.map((n) => n.garbage_lines));
    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    expect((await dslabJson<{ type: string }>(cwd, 'send', 'n3', '{"type":"echo","echo":"back"}')).type).toBe('echo_ok');
    const after = await status();
    expect(link(after, 'c1->n3').delivered).toBe(link(during, 'c1->n3').delivered + 1);
    expect(link(after, 'n3->c1').delivered).toBeGreaterThan(0);
  });

  it('puts a message a node sends a client unasked on the event stream, as JSON and as a plain line', async () => {
    const children: ResultPromise[] = [];
    const follow = (...args: string[]) => {
      const out = { text: '' };
      const child = dslabSpawn(cwd, 'events', '--history', '--type', 'client_message', ...args);
      child.stdout!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
      children.push(child);
      return out;
    };
    try {
      expect((await dslabJson<{ type: string }>(cwd, 'send', 'n3', '{"type":"watch","path":"/a"}')).type).toBe('watch_ok');
      const json = follow('--json');
      const plain = follow();
      const events = await waitFor('the watch event on the stream', () => {
        const found = json.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ClusterEvent);
        return found.length > 0 ? found : undefined;
      });
      expect(events).toEqual([expect.objectContaining({ type: 'client_message', client: 'c1', node: 'n3', body: { type: 'watch_event', event: 'NodeDataChanged', path: '/a' } })]);
      await waitFor('the plain line', () => plain.text.includes('n3 → c1: watch_event NodeDataChanged /a'));
      expect((await status()).client_messages).toMatchObject({ unasked: 1, inbox_dropped: 0 });
    } finally {
      for (const child of children) child.kill();
      await Promise.all(children);
    }
  });

  it('applies faults on the hop from the forwarding node: a partition between n2 and n3 stops the forward', async () => {
    const before = await status();
    expect((await dslab(cwd, 'partition', 'n2', 'n1,n3')).exitCode).toBe(0);
    const cut = await dslab(cwd, 'send', 'n2', '{"type":"echo","echo":"lost"}', '--timeout', '1s');
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toMatch(/^dslab: n2 did not answer echo within 1s/);
    const after = await status();
    expect(link(after, 'n2->n3').delivered).toBe(link(before, 'n2->n3').delivered);
    expect(link(after, 'n2->n3').dropped).toBe(link(before, 'n2->n3').dropped + 1);
    expect(node(after, 'n2').forwarded).toBe(node(before, 'n2').forwarded + 1);
    // The guessed leader is on the majority side, so the guess stands.
    expect(after.leader).toBe('n3');
    await dslab(cwd, 'heal');
  });

  it('drops the guess when that node is cut off or paused, and kills it as "leader" once inferred again', async () => {
    const isolated = await dslab(cwd, 'partition', '--isolate', 'leader');
    expect(isolated.stdout).toContain('partition {n3} | {n1,n2}');
    expect((await status()).leader).toBeNull();
    await dslab(cwd, 'heal');

    expect((await dslabJson<{ outcome: string }>(cwd, 'kv', 'put', 'y', '1')).outcome).toBe('ok');
    expect((await status()).leader).toBe('n3');
    await dslab(cwd, 'pause', 'n3');
    expect((await status()).leader).toBeNull();
    await dslab(cwd, 'resume', 'n3');

    expect((await dslabJson<{ outcome: string }>(cwd, 'kv', 'put', 'y', '2')).outcome).toBe('ok');
    const kill = await dslab(cwd, 'kill', 'leader');
    expect(kill.exitCode, kill.stderr).toBe(0);
    expect(kill.stdout).toContain('killed n3 (leader, inferred from client replies)');
    const s = await status();
    expect(node(s, 'n3').status).toBe('down');
    expect(s.leader).toBeNull();
  });

  it('believes a reported role over the guess, and never a killed node or one restarted but not yet reporting', async () => {
    expect((await dslab(cwd, 'restart', 'n3')).exitCode).toBe(0);
    expect((await dslabJson<{ outcome: string }>(cwd, 'kv', 'put', 'z', '1')).outcome).toBe('ok');
    expect((await status()).leader).toBe('n3');
    await controlSend(cwd, 'n2', { type: 'report', state: { role: 'leader', term: 1 } });
    expect(await status()).toMatchObject({ leader: 'n2', leader_inferred: false });

    await dslab(cwd, 'kill', 'n2');
    const killed = await status();
    // The guess is back: n2's last words no longer count.
    expect(killed).toMatchObject({ leader: 'n3', leader_inferred: true });
    expect((await dslab(cwd, 'status')).stdout).toMatch(/\nn2\s+-\s+down \(SIGKILL\).*role=- term=1/);

    await dslab(cwd, 'restart', 'n2');
    const restarted = await status();
    expect(node(restarted, 'n2')).toMatchObject({ status: 'up', role_stale: true, state: { role: 'leader', term: 1 } });
    expect(restarted.leader).toBe('n3');
    await controlSend(cwd, 'n2', { type: 'report', state: { role: 'leader', term: 2 } });
    expect(await status()).toMatchObject({ leader: 'n2', leader_inferred: false });
    expect(node(await status(), 'n2').role_stale).toBe(false);
  });
});
