import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, MessageBody } from '../../src/lib/protocol/messages.js';
import { Node, type NodeIo } from '../../src/lib/runtime/node.js';
import { type RaftHost, startRaftHost } from '../../src/systems/raft/host.js';
import { readRaftOptions } from '../../src/systems/raft/options.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-raft-host-');

/**
 * Raft hosts embedded in this process over a fake io: each node's output
 * lines are parsed and handed to the peer they name, its state reports and
 * client replies are kept. Nothing but the hosts' own state tells them apart.
 */
function inProcessCluster(ids: string[]) {
  const nodes = new Map<string, Node>();
  const hosts = new Map<string, RaftHost>();
  const states = new Map<string, Record<string, unknown>>();
  const replies = new Map<number, (body: MessageBody) => void>();
  const logs: string[] = [];
  const exits: number[] = [];
  const deliver = (line: string) => {
    const envelope = JSON.parse(line) as Envelope;
    if (envelope.dest === 'dslab') {
      if (envelope.body.type === 'dslab_state') states.set(envelope.src, { ...states.get(envelope.src), ...envelope.body });
      return;
    }
    const peer = nodes.get(envelope.dest);
    if (peer) setImmediate(() => void peer.handleLine(line));
    else if (typeof envelope.body.in_reply_to === 'number') replies.get(envelope.body.in_reply_to)?.(envelope.body);
  };
  const options = readRaftOptions({ DSLAB_OPTIONS: JSON.stringify({ election_timeout_ms_min: 300, election_timeout_ms_max: 600, heartbeat_interval_ms: 30 }) });
  for (const id of ids) {
    const io: NodeIo = {
      write: (text) => text.split('\n').filter(Boolean).forEach(deliver),
      log: (text) => void logs.push(text),
      exit: (code) => void exits.push(code),
      now: () => Date.now(),
    };
    const node = new Node(io);
    nodes.set(id, node);
    hosts.set(id, startRaftHost(node, { options, data_dir: tempDir() }));
  }
  let msgId = 1;
  const request = (dest: string, body: Omit<MessageBody, 'msg_id'>) =>
    new Promise<MessageBody>((resolve) => {
      const msg_id = msgId++;
      replies.set(msg_id, resolve);
      void nodes.get(dest)!.handleLine(JSON.stringify({ src: 'c1', dest, body: { ...body, msg_id } }));
    });
  return { nodes, hosts, states, request, logs, exits };
}

async function until<T>(what: string, probe: () => T | null | undefined, timeout_ms = 20_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the Raft host', () => {
  let cluster: ReturnType<typeof inProcessCluster> | null = null;
  afterEach(() => {
    for (const host of cluster?.hosts.values() ?? []) host.stop();
    cluster = null;
  });

  it('runs two hosts in one process over a fake io: they elect one leader and commit a write on both', async () => {
    cluster = inProcessCluster(['n1', 'n2']);
    const { hosts, states, request } = cluster;
    for (const id of ['n1', 'n2']) expect(await request(id, { type: 'init', node_id: id, node_ids: ['n1', 'n2'] })).toMatchObject({ type: 'init_ok' });
    const leader = await until('a leader', () => [...hosts.entries()].find(([, host]) => host.state()?.role === 'leader')?.[0]);
    const follower = leader === 'n1' ? 'n2' : 'n1';
    await until('the follower to follow the leader in its term', () => (hosts.get(follower)!.state()?.leader === leader && hosts.get(follower)!.state()?.term === hosts.get(leader)!.state()?.term ? true : null));
    expect(hosts.get(follower)!.state()!.role).toBe('follower');
    expect(await request(leader, { type: 'write', key: 'x', value: 7, client: 's', seq: 1 })).toMatchObject({ type: 'write_ok' });
    expect(await request(leader, { type: 'read', key: 'x' })).toMatchObject({ type: 'read_ok', value: 7 });
    // Each host keeps its own log: the follower applied the same entry.
    const committed = hosts.get(leader)!.state()!.commit_index;
    await until("the follower's apply", () => ((hosts.get(follower)!.state()?.last_applied ?? 0) >= committed ? true : null));
    expect(states.get(follower)).toMatchObject({ role: 'follower', leader });
    // A follower redirects a client to the leader it knows.
    expect(await request(follower, { type: 'write', key: 'x', value: 8, client: 's', seq: 2 })).toMatchObject({ type: 'error', code: 11, leader });
  });

  it('refuses to start on unreadable data through its settings, not by exiting the process', async () => {
    const node = new Node({ write: () => undefined, log: () => undefined, exit: () => undefined, now: () => Date.now() });
    const dir = tempDir();
    writeFileSync(path.join(dir, 'snapshot.json'), '{not json');
    const failures: string[] = [];
    const host = startRaftHost(node, { options: readRaftOptions({}), data_dir: dir, fatal: (text) => void failures.push(text) });
    await node.handleLine(JSON.stringify({ src: 'c0', dest: 'n1', body: { type: 'init', node_id: 'n1', node_ids: ['n1'], msg_id: 1 } }));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^n1 cannot start: /);
    expect(host.state()).toBeNull();
    host.stop();
  });
});
