import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultPromise } from 'execa';
import type { ClusterEvent, ClusterStatus } from '../../src/lib/control/api.js';
import { cleanup, controlStatus, dslab, dslabJson, dslabSpawn, isAlive, makeWorkdir, waitFor } from '../helpers/cli.js';

// One five-node echo cluster, broken in turn by each command a user has.
describe('a five-node echo cluster under the real CLI', () => {
  let cwd: string;
  let follower: ResultPromise | undefined;
  const others: ResultPromise[] = [];
  const status = () => controlStatus(cwd);
  const reachable = async (node: string) => String((await status()).nodes.find((n) => n.id === node)!.state.reachable ?? '');
  const link = (s: ClusterStatus, name: string) => s.links.find((l) => l.link === name)!;

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'echo', '--nodes', '5', '--detach', '--seed', '11');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('n1, n2, n3, n4, n5');
  });

  afterAll(async () => {
    follower?.kill();
    for (const other of others) other.kill();
    await cleanup(cwd);
  });

  it('starts every node, reports state, and keeps a directory per cluster', async () => {
    const s = await status();
    expect(s.nodes.map((n) => n.status)).toEqual(['up', 'up', 'up', 'up', 'up']);
    expect(s.seed).toBe(11);
    // Echo has no leader, so its status names none and misses none.
    expect((await dslab(cwd, 'status')).stdout.split('\n')[0]).not.toContain('leader');
    const socket = path.join(cwd, '.dslab', 'echo', 'control.sock');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    // Data, logs and the message trace are the user's alone.
    const dir = path.join(cwd, '.dslab', 'echo');
    for (const folder of [path.join(cwd, '.dslab'), dir, path.join(dir, 'data'), path.join(dir, 'data', 'n1'), path.join(dir, 'logs')]) {
      expect(statSync(folder).mode & 0o777, folder).toBe(0o700);
    }
    for (const node of ['n1', 'n5']) {
      expect(existsSync(path.join(cwd, '.dslab', 'echo', 'data', node))).toBe(true);
      expect(existsSync(path.join(cwd, '.dslab', 'echo', 'logs', `${node}.log`))).toBe(true);
    }
    await waitFor('every node to hear all four peers', async () => (await status()).nodes.every((n) => String(n.state.reachable).split(',').length === 4));
    const text = await dslab(cwd, 'status');
    expect(text.stdout).toMatch(/n3\s+\d+\s+up/);
  });

  it('says so when a cluster of that name is already running', async () => {
    const again = await dslab(cwd, 'up', 'echo', '--nodes', '3', '--detach');
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim()).toMatch(/^dslab: cluster "echo" is already running/);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('answers a client message sent through the supervisor', async () => {
    const reply = await dslabJson<{ type: string; echo: string }>(cwd, 'send', 'n2', '{"type":"echo","echo":"hello"}');
    expect(reply).toMatchObject({ type: 'echo_ok', echo: 'hello' });
  });

  it('drops messages across a partition, delivers them within each side, and heals', async () => {
    const cut = await dslab(cwd, 'partition', 'n1,n2', 'n3,n4,n5');
    expect(cut.stdout).toContain('partition {n1,n2} | {n3,n4,n5}');
    const before = await status();
    await waitFor('n1 to hear only n2', async () => (await reachable('n1')) === 'n2');
    await waitFor('n4 to hear only n3 and n5', async () => (await reachable('n4')) === 'n3,n5');
    const after = await status();
    // Across the cut: nothing more delivered, more dropped.
    expect(link(after, 'n1->n3').delivered).toBe(link(before, 'n1->n3').delivered);
    expect(link(after, 'n1->n3').dropped).toBeGreaterThan(link(before, 'n1->n3').dropped);
    expect(link(after, 'n5->n2').delivered).toBe(link(before, 'n5->n2').delivered);
    // Within a side: still delivered.
    expect(link(after, 'n1->n2').delivered).toBeGreaterThan(link(before, 'n1->n2').delivered);
    expect(link(after, 'n3->n4').delivered).toBeGreaterThan(link(before, 'n3->n4').delivered);
    expect(after.faults).toContain('partition {n1,n2} | {n3,n4,n5}');
    // The same, as data for programs.
    expect(after.active_faults.partition).toEqual([
      ['n1', 'n2'],
      ['n3', 'n4', 'n5'],
    ]);
    // Client links stay up.
    expect((await dslabJson<{ type: string }>(cwd, 'send', 'n1', '{"type":"echo","echo":1}')).type).toBe('echo_ok');

    await dslab(cwd, 'heal');
    await waitFor('n1 to hear everyone again', async () => (await reachable('n1')) === 'n2,n3,n4,n5');
    expect((await status()).faults).toEqual([]);
  });

  it('isolates one node and splits into random halves', async () => {
    const isolated = await dslab(cwd, 'partition', '--isolate', 'n3');
    expect(isolated.stdout).toContain('partition {n3} | {n1,n2,n4,n5}');
    await waitFor('n3 to hear nobody', async () => (await reachable('n3')) === '');
    const halves = await dslabJson<{ groups: string[][] }>(cwd, 'partition');
    expect(halves.groups).toHaveLength(2);
    expect(halves.groups.flat().sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(Math.abs(halves.groups[0]!.length - halves.groups[1]!.length)).toBe(1);
    await dslab(cwd, 'heal');
  });

  it('kills a node with SIGKILL and restarts it', async () => {
    const before = (await status()).nodes.find((n) => n.id === 'n3')!;
    const killed = await dslab(cwd, 'kill', 'n3');
    expect(killed.stdout).toContain('killed n3');
    const down = (await status()).nodes.find((n) => n.id === 'n3')!;
    expect(down.status).toBe('down');
    expect(down.exit_signal).toBe('SIGKILL');
    expect(isAlive(before.pid!)).toBe(false);
    const again = await dslab(cwd, 'kill', 'n3');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('n3 is already down');
    // Echo nodes never asked to hear of a peer's exit (init_ok without dslab_connection_closed): no notice went to them.
    const trace = readFileSync(path.join(cwd, '.dslab', 'echo', 'trace.jsonl'), 'utf8');
    expect(trace).toContain('"dest":"n3"');
    expect(trace).not.toContain('dslab_connection_closed');

    const restarted = await dslab(cwd, 'restart', 'n3');
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const up = (await status()).nodes.find((n) => n.id === 'n3')!;
    expect(up.status).toBe('up');
    expect(up.restarts).toBe(1);
    expect(up.pid).not.toBe(before.pid);
    await waitFor('n3 to hear its peers again', async () => (await reachable('n3')) === 'n1,n2,n4,n5');
  });

  it('pauses and resumes a node', async () => {
    await dslab(cwd, 'pause', 'n2');
    const s = await status();
    expect(s.nodes.find((n) => n.id === 'n2')!.status).toBe('paused');
    expect(s.faults).toContain('n2 paused');
    const stat = readFileSync(`/proc/${s.nodes.find((n) => n.id === 'n2')!.pid}/stat`, 'utf8');
    expect(stat.split(') ')[1]!.startsWith('T')).toBe(true);
    await waitFor('n1 to stop hearing n2', async () => !(await reachable('n1')).includes('n2'));
    await dslab(cwd, 'resume', 'n2');
    await waitFor('n1 to hear n2 again', async () => (await reachable('n1')).includes('n2'));
  });

  it('applies and describes link faults and clock skew', async () => {
    const total = (st: ClusterStatus, field: 'dropped' | 'duplicated') => st.links.reduce((sum, l) => sum + l[field], 0);
    const droppedBefore = total(await status(), 'dropped');
    expect((await dslab(cwd, 'delay', '--ms', '100', '--jitter', '50', '--link', 'n1-n2')).stdout).toContain('delay 100ms±50ms on n1-n2');
    expect((await dslab(cwd, 'loss', '20%')).stdout).toContain('loss 20% on every link');
    expect((await dslab(cwd, 'duplicate', '5%')).stdout).toContain('duplicate 5%');
    expect((await dslab(cwd, 'skew', 'n2', '-2s')).stdout).toContain('clock of n2 skewed by -2s');
    const s = await status();
    expect(s.faults).toEqual(expect.arrayContaining(['loss 20%', 'duplicate 5%', 'delay 100ms±50ms on n1-n2', 'n2 clock -2s']));
    expect(s.nodes.find((n) => n.id === 'n2')!.clock_offset_ms).toBe(-2000);
    expect(s.active_faults).toEqual({
      partition: null,
      links: [
        { link: null, faults: { ...{ loss: 0, duplicate: 0, reorder: 0, delay_ms: 0, jitter_ms: 0 }, loss: 0.2, duplicate: 0.05 } },
        { link: 'n1-n2', faults: { ...{ loss: 0, duplicate: 0, reorder: 0, delay_ms: 0, jitter_ms: 0 }, delay_ms: 100, jitter_ms: 50 } },
      ],
      paused: [],
      clock_offsets_ms: { n2: -2000 },
    });
    await waitFor('loss to drop and duplication to copy messages', async () => {
      const now = await status();
      return total(now, 'dropped') > droppedBefore && total(now, 'duplicated') > 0;
    });
    await dslab(cwd, 'heal');
    await dslab(cwd, 'skew', 'n2', '0');
    expect((await status()).faults).toEqual([]);
  });

  it('shows node logs', async () => {
    const logs = await dslab(cwd, 'logs', 'n3');
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toContain('starting n3');
    expect(logs.stdout).toContain('n3 exited (signal SIGKILL)');
  });

  it("keeps the supervisor's own log: its start, nodes, faults and refused requests", async () => {
    const logs = await dslab(cwd, 'logs', 'supervisor', '--lines', '1000');
    expect(logs.exitCode, logs.stderr).toBe(0);
    const lines = logs.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \S/);
    const texts = lines.map((line) => line.replace(/^\S+ /, ''));
    expect(texts[0]).toMatch(/^starting cluster echo: system echo, nodes n1,n2,n3,n4,n5, seed 11, node command: \S+/);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^n1 up \(pid \d+\)$/),
        'cluster echo up: echo on 5 nodes, seed 11',
        'partition {n1,n2} | {n3,n4,n5}',
        'killed n3',
        'n3 down (signal SIGKILL)',
        'refused kill n3: n3 is already down',
        'restarted n3 with its data directory',
        'paused n2',
      ]),
    );
  });

  it('streams events as NDJSON until the cluster goes down, plain event lines by default, and the types asked for', async () => {
    const collect = (child: ResultPromise) => {
      const out = { text: '' };
      child.stdout!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
      others.push(child);
      return out;
    };
    const plain = collect(dslabSpawn(cwd, 'events'));
    const typed = collect(dslabSpawn(cwd, 'events', '--json', '--type', 'fault'));
    // A harmless fault, repeated until both followers show it: then both are attached.
    await waitFor('the plain and typed followers to attach', async () => {
      await dslab(cwd, 'skew', 'n1', '0');
      return plain.text.includes('clock of n1 skewed') && typed.text.includes('clock of n1 skewed');
    });

    follower = dslabSpawn(cwd, 'events', '--json');
    let output = '';
    follower.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const events = () => output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ClusterEvent);
    await waitFor('a rates event', () => events().some((e) => e.type === 'rates'));
    await dslab(cwd, 'partition', '--isolate', 'n5');
    await waitFor('n5 to report that it hears nobody', () => events().some((e) => e.type === 'node_state' && e.node === 'n5' && e.state.reachable === ''));
    await dslab(cwd, 'heal');
    await waitFor('both fault events', () => events().filter((e) => e.type === 'fault').length === 2);
    await waitFor('the heal in the plain lines', () => plain.text.includes('healed: no partitions or link faults'));
    // The plain lines say what happened, with the time of day, and do not echo each state report.
    expect(plain.text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} partition \{n5\} \| \{n1,n2,n3,n4\}$/m);
    expect(plain.text).not.toContain('reachable=');
    await waitFor('the heal in the typed stream', () => typed.text.includes('healed: no partitions or link faults'));
    const typedEvents = typed.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ClusterEvent);
    expect(new Set(typedEvents.map((e) => e.type))).toEqual(new Set(['fault']));
    const bad = await dslab(cwd, 'events', '--type', 'falut');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^dslab: --type: unknown event type "falut" \(types: /);
    const faults = events().filter((e) => e.type === 'fault') as Extract<ClusterEvent, { type: 'fault' }>[];
    expect(faults.map((f) => f.description)).toEqual(['partition {n5} | {n1,n2,n3,n4}', 'healed: no partitions or link faults']);
    expect(faults[0]!.faults).toEqual(['partition {n5} | {n1,n2,n3,n4}']);
    // What was done and what is in force, as data: readers need not parse the words back.
    expect(faults[0]!.fault).toEqual({ action: 'partition', groups: [['n5'], ['n1', 'n2', 'n3', 'n4']] });
    expect(faults[0]!.active.partition).toEqual([['n5'], ['n1', 'n2', 'n3', 'n4']]);
    expect(faults[1]!.fault).toEqual({ action: 'heal' });
    expect(faults[1]!.active).toEqual({ partition: null, links: [], paused: [], clock_offsets_ms: {} });
    expect(faults[0]!.source).toBe('cli');
  });

  it('stops every node on down', async () => {
    const pids = (await status()).nodes.map((n) => n.pid!);
    const info = JSON.parse(readFileSync(path.join(cwd, '.dslab', 'echo', 'cluster.json'), 'utf8')) as { supervisor_pid: number };
    const down = await dslab(cwd, 'down');
    expect(down.exitCode).toBe(0);
    expect(pids.every((pid) => !isAlive(pid))).toBe(true);
    expect(isAlive(info.supervisor_pid)).toBe(false);
    expect(existsSync(path.join(cwd, '.dslab', 'echo', 'control.sock'))).toBe(false);
    // The event follower saw the end and exited by itself.
    const followed = await follower!;
    expect(followed.exitCode).toBe(0);
    expect(String(followed.stdout)).toContain('"type":"cluster_down"');
    const none = await dslab(cwd, 'status');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/^dslab: no running cluster/);
    const clean = await dslab(cwd, 'down', '--clean');
    expect(clean.exitCode).toBe(0);
    expect(existsSync(path.join(cwd, '.dslab', 'echo'))).toBe(false);
  });
});
