import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus, NodeStatus } from '../../src/lib/control/api.js';
import { EventLinePrinter } from '../../src/lib/dashboard/event-lines.js';
import { cleanup, controlSend, controlStatus, dslab, dslabSpawn, makeWorkdir, waitFor } from '../helpers/cli.js';

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
  sessions?: number;
  znodes?: number;
};
const stateOf = (node: NodeStatus) => node.state as State;

// One ensemble for the whole file: three voters and one observer (n4, the last id). A tick of 1s lets
// sessions live up to 20s between the CLI's requests; a sync limit of 2 ticks keeps failover quick.
describe('zab on real processes', () => {
  let cwd: string;
  let events: ResultPromise;
  let eventText = '';
  const status = () => controlStatus(cwd);
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

  /** One client request as `dslab send` makes it, through the control API (the command itself is run for /nope below): the reply body, errors too. */
  const send = (id: string, body: { type: string; [field: string]: unknown }) => controlSend(cwd, id, body);
  const connect = async (id: string, timeout_ms: number) => {
    const r = await send(id, { type: 'connect', timeout_ms });
    expect(r).toMatchObject({ type: 'connect_ok', server: id });
    return r.session as string;
  };

  beforeAll(async () => {
    cwd = makeWorkdir();
    const up = await dslab(cwd, 'up', 'zab', '--nodes', '4', '--observers', '1', '--tick', '1s', '--sync-limit', '2', '--detach');
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

    // A session and a write through a follower are forwarded, committed, and answered where they were asked.
    const follower = voters.find((v) => v !== first.id)!;
    const opened = await send(follower, { type: 'connect', timeout_ms: 20_000 });
    expect(opened).toMatchObject({ type: 'connect_ok', timeout_ms: 20_000, server: follower, zxid: `${first.epoch}:1` });
    const before = opened.session as string;
    expect(await send(follower, { type: 'create', session: before, path: '/before' })).toMatchObject({ type: 'create_ok', path: '/before', stat: { czxid: `${first.epoch}:2` } });
    expect(await send(follower, { type: 'close_session', session: before })).toMatchObject({ type: 'close_session_ok', session: before });

    expect((await dslab(cwd, 'kill', 'leader')).stdout).toContain(`killed ${first.id} (leader)`);
    const second = await waitFor('a new leader', async () => {
      const now = await settled();
      return now && now.id !== first.id ? now : undefined;
    });
    expect(second.id).not.toBe('n4');
    expect(second.epoch).toBeGreaterThan(first.epoch);
    const narrated = (await dslab(cwd, 'logs', second.id, '--lines', '1000')).stdout;
    // The followers heard that the leader's process exited (its connection closed), not just its silence.
    expect(narrated).toMatch(new RegExp(`Z ${second.id} looking for a leader, election round \\d+: the connection to leader ${first.id} closed`));
    const notices = readFileSync(path.join(cwd, '.dslab', 'zab', 'trace.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"fate":"notice"'))
      .map((line) => JSON.parse(line) as { msg: { dest: string; body: { type: string; peer: string } } });
    expect(notices.filter((n) => n.msg.body.peer === first.id).map((n) => n.msg.dest).sort()).toEqual(['n1', 'n2', 'n3', 'n4'].filter((id) => id !== first.id));
    expect(narrated).toMatch(new RegExp(`Z ${second.id} election round \\d+ decided: this server leads`));
    expect(narrated).toContain(`new epoch ${second.epoch}`);
    expect(narrated).toMatch(new RegExp(`established as leader of epoch ${second.epoch}; everything up to ${first.epoch}:3 is committed`));

    const session = await connect(second.id, 20_000);
    expect(await send(second.id, { type: 'create', session, path: '/after', data: 'after' })).toMatchObject({ type: 'create_ok', stat: { czxid: `${second.epoch}:2` } });

    // The old leader rejoins as a follower, synced in the new epoch, and has both writes.
    expect((await dslab(cwd, 'restart', first.id)).exitCode).toBe(0);
    const back = await waitFor('the old leader to follow again', async () => {
      const s = await status();
      const old = stateOf(node(s, first.id));
      return old.role === 'following' && old.phase === 'broadcast' && old.current_epoch === second.epoch && old.committed_zxid === `${second.epoch}:2` ? old : undefined;
    });
    expect(['DIFF', 'TRUNC', 'SNAP']).toContain(back.sync_mode);
    expect(back.leader).toBe(second.id);
    expect(await send(first.id, { type: 'get_data', session, path: '/after' })).toMatchObject({ type: 'get_data_ok', data: 'after', stat: { mzxid: `${second.epoch}:2` } });
    expect(await send(first.id, { type: 'exists', session, path: '/before' })).toMatchObject({ type: 'exists_ok', stat: { czxid: `${first.epoch}:2` } });
    expect(await send(second.id, { type: 'close_session', session })).toMatchObject({ type: 'close_session_ok' });
    expect((await dslab(cwd, 'logs', first.id, '--lines', '1000')).stdout).toMatch(new RegExp(`synced with ${second.id} by ${back.sync_mode} for epoch ${second.epoch}`));
    expect((await dslab(cwd, 'logs', second.id, '--lines', '1000')).stdout).toMatch(new RegExp(`synchronizing ${first.id} by ${back.sync_mode} from its last zxid ${first.epoch}:3`));

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
    // The dashboard's narration of the same stream: the observer looked for its leader after the failover, and never stood in an election.
    const printer = new EventLinePrinter();
    const narration = stream().flatMap((e) => printer.push(e).map((line) => line.text));
    expect(narration).toContain('n4 looks for the leader (an observer does not vote)');
    expect(narration.filter((text) => text.startsWith('n4 starts an election'))).toEqual([]);
  });

  it('serves znodes and sessions: ephemeral and sequential creates, reads elsewhere, ZooKeeper errors, expiry, and ConnectionLoss when cut off', async () => {
    const { id: leader } = await waitFor('an established leader', settled);
    const [follower, other] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    const session = await connect(follower, 20_000);
    expect(await send(follower, { type: 'create', session, path: '/app', data: 'v1' })).toMatchObject({ type: 'create_ok', path: '/app' });
    const lock = await send(follower, { type: 'create', session, path: '/app/lock-', ephemeral: true, sequential: true });
    expect(lock).toMatchObject({ type: 'create_ok', path: '/app/lock-0000000000', stat: { ephemeralOwner: session } });
    const listed = await send(leader, { type: 'list_sessions' });
    expect(listed.sessions).toEqual([expect.objectContaining({ session, timeout_ms: 20_000, server: follower })]);

    // Another server (the observer) after a sync has both.
    expect(await send('n4', { type: 'sync', session })).toMatchObject({ type: 'sync_ok' });
    expect(await send('n4', { type: 'get_data', session, path: '/app' })).toMatchObject({ type: 'get_data_ok', data: 'v1', stat: { numChildren: 1 } });
    expect(await send('n4', { type: 'get_children', session, path: '/app' })).toMatchObject({ type: 'get_children_ok', children: ['lock-0000000000'] });
    const missing = await dslab(cwd, 'send', 'n4', JSON.stringify({ type: 'get_data', session, path: '/nope' }));
    expect(missing.exitCode).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ type: 'error', code: 20, zk_error: 'NoNode' });

    // A session nobody pings expires (2s, the shortest a 1s tick allows): the leader's txn deletes its ephemeral.
    const quiet = await connect(other, 1);
    expect(await send(other, { type: 'create', session: quiet, path: '/app/quiet', ephemeral: true })).toMatchObject({ type: 'create_ok' });
    expect((await send(leader, { type: 'list_sessions' })).sessions).toContainEqual(expect.objectContaining({ session: quiet, timeout_ms: 2000, server: other }));
    await waitFor('the quiet session to expire', async () => {
      const r = await send(follower, { type: 'exists', session, path: '/app/quiet' });
      return r.type === 'exists_ok' && r.stat === null;
    });
    expect(await send(other, { type: 'ping', session: quiet })).toMatchObject({ type: 'error', zk_error: 'SessionExpired' });
    expect(await send(follower, { type: 'ping', session })).toMatchObject({ type: 'ping_ok', session });
    // Every server reports one session and five znodes (/, /before, /after, /app and the lock).
    await waitFor('state reports with the sessions and znodes', async () => (await status()).nodes.every((n) => stateOf(n).sessions === 1 && stateOf(n).znodes === 5));
    expect((await dslab(cwd, 'logs', leader, '--lines', '1000')).stdout).toContain(`session ${quiet} expired; its ephemerals /app/quiet are gone`);
    // The leader's state report names it, which the event log (dashboard, `dslab events`) tells of.
    const reports = () => eventText.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ClusterEvent);
    await waitFor('the expiry in the leader\'s state reports', () =>
      reports().some((e) => e.type === 'node_state' && e.node === leader && e.state.last_expired_session === quiet && e.state.last_expired_ephemerals === '/app/quiet' && Number(e.state.sessions_expired) >= 1),
    );

    // Cut off from its leader, a server stops serving: a ping there is ConnectionLoss, temporarily unavailable.
    expect((await dslab(cwd, 'partition', '--isolate', other)).exitCode).toBe(0);
    const refused = await waitFor('the isolated server to refuse a ping', async () => {
      const r = await send(other, { type: 'ping', session });
      return r.type === 'error' ? r : undefined;
    });
    expect(refused).toMatchObject({ code: 11, zk_error: 'ConnectionLoss' });
    expect((await dslab(cwd, 'heal')).exitCode).toBe(0);
    await waitFor('the ensemble to settle again', settled);
    expect(await send(other, { type: 'ping', session })).toMatchObject({ type: 'ping_ok', session });
    expect(await send(follower, { type: 'close_session', session })).toMatchObject({ type: 'close_session_ok' });
  });

  it('serves the requests a ZooKeeper wire client needs: multi, check, containers, remove_watches, get_acl, and refuses a client that saw a later zxid', async () => {
    const { id: leader } = await waitFor('an established leader', settled);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const session = await connect(follower, 20_000);
    const multi = await send(follower, {
      type: 'multi',
      session,
      ops: [
        { type: 'create', path: '/wire', container: true },
        { type: 'create', path: '/wire/lock-', ephemeral: true, sequential: true },
        { type: 'check', path: '/wire', version: 0 },
      ],
    });
    expect(multi).toMatchObject({ type: 'multi_ok', results: [{ type: 'create', path: '/wire', stat: { container: true } }, { type: 'create', path: '/wire/lock-0000000000' }, { type: 'check' }] });
    const failed = await send(follower, { type: 'multi', session, ops: [{ type: 'delete', path: '/wire/lock-0000000000' }, { type: 'check', path: '/wire', version: 7 }] });
    expect(failed).toMatchObject({ type: 'error', zk_error: 'BadVersion', results: [{ zk_error: 'Ok' }, { zk_error: 'BadVersion' }] });
    expect(await send(follower, { type: 'check', session, path: '/wire/lock-0000000000', version: 0 })).toMatchObject({ type: 'check_ok' });
    expect(await send(follower, { type: 'get_data', session, path: '/wire', watch: true })).toMatchObject({ type: 'get_data_ok' });
    expect(await send(follower, { type: 'remove_watches', session, path: '/wire', watcher_type: 3 })).toMatchObject({ type: 'remove_watches_ok' });
    expect(await send(follower, { type: 'check_watches', session, path: '/wire', watcher_type: 3 })).toMatchObject({ type: 'error', code: 20, zk_error: 'NoWatcher' });
    expect(await send(follower, { type: 'get_acl', session, path: '/wire' })).toMatchObject({ type: 'get_acl_ok', acl: [{ scheme: 'world', id: 'anyone', perms: 31 }] });
    const czxid = ((multi.results as Array<{ stat: { czxid: string } }>)[0]!.stat.czxid).split(':').map(Number) as [number, number];
    const ahead = `${czxid[0]}:${czxid[1] + 1_000_000}`;
    expect(await send(follower, { type: 'connect', session, last_zxid_seen: ahead })).toMatchObject({ type: 'error', code: 11, zk_error: 'ZxidAhead' });
    expect(await send(follower, { type: 'close_session', session })).toMatchObject({ type: 'close_session_ok' });
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
