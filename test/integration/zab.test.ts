import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus, NodeStatus } from '../../src/lib/control/api.js';
import { cleanup, dslab, dslabJson, dslabSpawn, makeWorkdir, waitFor } from '../helpers/cli.js';

type State = {
  role?: string;
  epoch?: number;
  accepted_epoch?: number;
  current_epoch?: number;
  last_zxid?: string;
  committed_zxid?: string;
  last_zxid_hex?: string;
  leader?: string | null;
  phase?: string;
  sync_mode?: string | null;
  established?: boolean;
};
const stateOf = (node: NodeStatus) => node.state as State;

// One ensemble for the whole file: three voters and one observer (n4, the last id).
describe('zab on real processes', () => {
  let cwd: string;
  let events: ResultPromise;
  let eventText = '';
  const status = () => dslabJson<ClusterStatus>(cwd, 'status');
  const node = (s: ClusterStatus, id: string) => s.nodes.find((n) => n.id === id)!;
  /** The established leader and its epoch, once every live node is in broadcast in that epoch. */
  const settled = async () => {
    const s = await status();
    if (!s.leader) return undefined;
    const leader = stateOf(node(s, s.leader));
    if (leader.role !== 'leading' || !leader.established) return undefined;
    const up = s.nodes.filter((n) => n.status === 'up');
    if (!up.every((n) => stateOf(n).phase === 'broadcast' && stateOf(n).current_epoch === leader.current_epoch)) return undefined;
    return { s, id: s.leader, epoch: leader.current_epoch! };
  };

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'zab', '--nodes', '4', '--observers', '1', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    events = dslabSpawn(cwd, 'events', '--history', '--json');
    events.stdout!.on('data', (chunk: Buffer) => (eventText += chunk.toString()));
  });

  afterAll(async () => {
    await cleanup(cwd);
    events.kill();
  });

  it('elects a leader the others follow in one epoch, fails over to a higher epoch, and takes the old leader back by a sync', async () => {
    const first = await waitFor('an established leader', settled);
    expect(first.id).not.toBe('n4');
    const voters = ['n1', 'n2', 'n3'];
    for (const id of voters.filter((v) => v !== first.id)) {
      expect(stateOf(node(first.s, id))).toMatchObject({ role: 'following', leader: first.id, current_epoch: first.epoch, accepted_epoch: first.epoch });
    }
    expect(stateOf(node(first.s, 'n4'))).toMatchObject({ role: 'observing', leader: first.id, current_epoch: first.epoch });
    expect(first.epoch).toBeGreaterThanOrEqual(1);

    // A write through a follower is forwarded, committed, and answered where it was asked.
    const follower = voters.find((v) => v !== first.id)!;
    const write = await dslab(cwd, 'send', follower, '{"type":"zab_write","value":"before"}');
    expect(write.exitCode, write.stderr).toBe(0);
    expect(JSON.parse(write.stdout)).toMatchObject({ type: 'zab_write_ok', zxid: `${first.epoch}:1` });

    expect((await dslab(cwd, 'kill', 'leader')).stdout).toContain(`killed ${first.id} (leader)`);
    const second = await waitFor('a new leader', async () => {
      const now = await settled();
      return now && now.id !== first.id ? now : undefined;
    });
    expect(second.id).not.toBe('n4');
    expect(second.epoch).toBeGreaterThan(first.epoch);
    const narrated = (await dslab(cwd, 'logs', second.id, '--lines', '1000')).stdout;
    expect(narrated).toMatch(new RegExp(`Z ${second.id} looking for a leader, election round \\d+: nothing from leader ${first.id}`));
    expect(narrated).toMatch(new RegExp(`Z ${second.id} election round \\d+ decided: this server leads`));
    expect(narrated).toContain(`new epoch ${second.epoch}`);
    expect(narrated).toMatch(new RegExp(`established as leader of epoch ${second.epoch}; everything up to ${first.epoch}:1 is committed`));

    const after = await dslab(cwd, 'send', second.id, '{"type":"zab_write","value":"after"}');
    expect(JSON.parse(after.stdout)).toMatchObject({ type: 'zab_write_ok', zxid: `${second.epoch}:1` });

    // The old leader rejoins as a follower, synced in the new epoch, and has both writes.
    expect((await dslab(cwd, 'restart', first.id)).exitCode).toBe(0);
    const back = await waitFor('the old leader to follow again', async () => {
      const s = await status();
      const old = stateOf(node(s, first.id));
      return old.role === 'following' && old.phase === 'broadcast' && old.current_epoch === second.epoch && old.committed_zxid === `${second.epoch}:1` ? old : undefined;
    });
    expect(['DIFF', 'TRUNC', 'SNAP']).toContain(back.sync_mode);
    expect(back.leader).toBe(second.id);
    const read = await dslab(cwd, 'send', first.id, '{"type":"zab_read"}');
    expect(JSON.parse(read.stdout)).toMatchObject({ type: 'zab_read_ok', value: 'after', zxid: `${second.epoch}:1` });
    expect((await dslab(cwd, 'logs', first.id, '--lines', '1000')).stdout).toMatch(new RegExp(`synced with ${second.id} by ${back.sync_mode} for epoch ${second.epoch}`));
    expect((await dslab(cwd, 'logs', second.id, '--lines', '1000')).stdout).toMatch(new RegExp(`synchronizing ${first.id} by ${back.sync_mode} from its last zxid ${first.epoch}:1`));

    // Status shows the roles and epochs; the event stream saw every role, and the observer never led.
    const table = (await dslab(cwd, 'status')).stdout;
    expect(table).toMatch(new RegExp(`leader ${second.id}`));
    expect(table).toMatch(/role=observing/);
    const stream = () => eventText.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ClusterEvent);
    await waitFor('the restarted node in the event stream', () =>
      stream().some((e) => e.type === 'node_state' && e.node === first.id && e.state.role === 'following' && e.state.current_epoch === second.epoch),
    );
    const roles = new Set(stream().flatMap((e) => (e.type === 'node_state' && typeof e.state.role === 'string' ? [`${e.node}=${e.state.role}`] : [])));
    expect(roles).toContain(`${first.id}=leading`);
    expect(roles).toContain(`${second.id}=leading`);
    expect(roles).toContain('n4=observing');
    expect(roles).not.toContain('n4=leading');
    expect(roles).not.toContain('n4=following');
  });

  it('refuses to restart a server whose txn log is corrupt in the middle, saying so in one line', async () => {
    const { s, id: leader } = await waitFor('an established leader', settled);
    const victim = s.nodes.map((n) => n.id).find((id) => id !== leader && id !== 'n4')!;
    expect((await dslab(cwd, 'kill', victim)).exitCode).toBe(0);
    const file = path.join(s.dir, 'data', victim, 'zab.wal');
    const data = readFileSync(file);
    data[12] ^= 0xff; // inside the first record; the ones after it stay intact
    writeFileSync(file, data);
    await dslab(cwd, 'restart', victim);
    const down = await waitFor('the server to refuse', async () => {
      const n = node(await status(), victim);
      return n.status === 'down' && n.stderr_tail.some((line) => line.includes('cannot start')) ? n : undefined;
    });
    const refusal = down.stderr_tail.find((line) => line.includes('cannot start'))!;
    expect(refusal).toMatch(new RegExp(`^${victim} cannot start: .*zab\\.wal is corrupt in the middle \\(record at byte 0: checksum mismatch\\); refusing to start\\.`));
  });
});
