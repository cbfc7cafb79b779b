import { afterEach, describe, expect, it } from 'vitest';
import { SessionClientIds } from '../../src/lib/supervisor/client-ids.js';
import { UserError } from '../../src/lib/util/errors.js';
import { ZkControl, type ZkHost } from '../../src/workloads/zk/control.js';
import { named_sessions_max } from '../../src/workloads/zk/session-table.js';
import { watchLoop } from '../../src/workloads/zk/watch-loop.js';
import type { ZkWatchEvent } from '../../src/lib/zk/client.js';
import { FakeEnsemble, VirtualClock } from '../helpers/zk-fake-ensemble.js';

let ensemble: FakeEnsemble | null = null;

afterEach(() => {
  ensemble?.stop();
  ensemble = null;
});

/** The supervisor's side of the seam, over the fake ensemble: registry client ids, requests, inboxes. */
function setup(): { clock: VirtualClock; ensemble: FakeEnsemble; control: ZkControl; ids: SessionClientIds } {
  const clock = new VirtualClock();
  ensemble = new FakeEnsemble(clock);
  const fake = ensemble;
  const ids = new SessionClientIds();
  const inboxes = new Map<string, () => void>();
  const host: ZkHost = {
    servers: fake.ids,
    takeClientId: () => ids.take(),
    releaseClientId: (id) => ids.release(id),
    request: (client, dest, body, timeout_ms) => fake.transport(client).rpc(dest, body, timeout_ms),
    onUnasked: (client, handler) => {
      if (inboxes.has(client)) throw new Error(`${client} already has a subscriber`);
      const off = fake.transport(client).onUnasked(handler);
      inboxes.set(client, off);
      return () => {
        off();
        inboxes.delete(client);
      };
    },
    leader: () => null,
    now: () => clock.now_ms,
    after: (ms, run) => clock.after(ms, run),
  };
  const control = new ZkControl(host);
  // The fake answers list_sessions as a leader would, from its tracker and tree.
  return { clock, ensemble: fake, control, ids };
}

async function settle<T>(clock: VirtualClock, call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  call.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  for (let waited = 0; outcome === null && waited < 60_000; waited += 50) await clock.advance(50);
  if (outcome === null) throw new Error('never settled');
  return outcome;
}

async function ok<T>(clock: VirtualClock, call: Promise<T>): Promise<T> {
  const outcome = await settle(clock, call);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function refused(clock: VirtualClock, call: Promise<unknown>): Promise<string> {
  const outcome = await settle(clock, call);
  if (outcome.ok) throw new Error('expected a refusal');
  expect(outcome.error).toBeInstanceOf(UserError);
  return (outcome.error as Error).message;
}

describe('the supervisor zk session table', () => {
  it('without --session opens a session for the one command and closes it, so an ephemeral goes with it', async () => {
    const { clock, ensemble, control, ids } = setup();
    const result = await ok(clock, control.run('create', { path: '/e', data: 'x', ephemeral: true }));
    expect(result.path).toBe('/e');
    expect(result.description).toMatch(/--session NAME keeps it/);
    expect(ensemble.tree().exists('/e')).toEqual({ ok: true, value: null });
    expect(ensemble.tree().session_count).toBe(0);
    expect(ids.size).toBe(0);
    expect(control.table.size).toBe(0);
  });

  it('keeps a named session open after its command: the ephemeral stays until session close', async () => {
    const { clock, ensemble, control, ids } = setup();
    await ok(clock, control.run('create', { path: '/lock', ephemeral: true, session: 'mine' }));
    await clock.advance(30_000);
    // Pinged all along: still there, long past the session timeout.
    expect(ensemble.tree().exists('/lock')).toMatchObject({ ok: true, value: { ephemeralOwner: expect.any(String) } });
    const listed = control.table.list();
    expect(listed.map((s) => [s.name, s.state])).toEqual([['mine', 'connected']]);
    // A second command on the same session sees its own ephemeral.
    const stat = await ok(clock, control.run('stat', { path: '/lock', session: 'mine' }));
    expect((stat.stat as { ephemeralOwner: string }).ephemeralOwner).toBe(listed[0]!.session);
    const closed = await ok(clock, control.run('session_close', { session: 'mine' }));
    expect(closed.state).toBe('closed');
    expect(ensemble.tree().exists('/lock')).toEqual({ ok: true, value: null });
    expect(control.table.size).toBe(0);
    expect(ids.size).toBe(0);
    expect(await refused(clock, control.run('session_close', { session: 'mine' }))).toMatch(/no session named mine/);
  });

  it('reports ZooKeeper errors by name in one line', async () => {
    const { clock, control } = setup();
    expect(await refused(clock, control.run('get', { path: '/missing' }))).toMatch(/^NoNode: /);
    await ok(clock, control.run('create', { path: '/v', data: 'a' }));
    expect(await refused(clock, control.run('set', { path: '/v', data: 'b', version: 3 }))).toMatch(/^BadVersion: /);
    expect(await refused(clock, control.run('stat', { path: '/nope' }))).toBe('NoNode: no znode /nope');
    expect(await refused(clock, control.run('create', { path: '/v' }))).toMatch(/^NodeExists: /);
    expect(await refused(clock, control.run('create', { path: 'no-slash' }))).toMatch(/^BadArguments: /);
  });

  it('checks its arguments and names the operations it has', async () => {
    const { clock, control } = setup();
    expect(await refused(clock, control.run('frobnicate', {}))).toMatch(/zk has no operation frobnicate \(it has: create, get/);
    expect(await refused(clock, control.run('set', { path: '/a' }))).toMatch(/^zk set: data: /);
    expect(await refused(clock, control.run('get', { path: '/a', session: 'bad name!' }))).toMatch(/a session name is letters/);
  });

  it('runs set with a version, ls and rm as ZooKeeper does', async () => {
    const { clock, control } = setup();
    await ok(clock, control.run('create', { path: '/a', data: 'one' }));
    await ok(clock, control.run('create', { path: '/a/q-', sequential: true }));
    await ok(clock, control.run('create', { path: '/a/q-', sequential: true }));
    const listed = await ok(clock, control.run('ls', { path: '/a' }));
    expect(listed.children).toEqual(['q-0000000000', 'q-0000000001']);
    const set = await ok(clock, control.run('set', { path: '/a', data: 'two', version: 0 }));
    expect((set.stat as { version: number }).version).toBe(1);
    expect((await ok(clock, control.run('get', { path: '/a' }))).data).toBe('two');
    expect(await refused(clock, control.run('rm', { path: '/a' }))).toMatch(/^NotEmpty: /);
    await ok(clock, control.run('rm', { path: '/a/q-0000000000', version: 0 }));
    const synced = await ok(clock, control.run('sync', { path: '/a' }));
    expect(typeof synced.zxid).toBe('string');
  });

  it('hands a watch event to the session that set it, once, and watches again when asked', async () => {
    const { clock, control } = setup();
    await ok(clock, control.run('create', { path: '/w', data: 'a' }));
    const armed = await ok(clock, control.run('watch', { path: '/w', session: 'watcher' }));
    expect(armed.description).toBe('watching /w (version 0)');
    await ok(clock, control.run('set', { path: '/w', data: 'b' }));
    await ok(clock, control.run('set', { path: '/w', data: 'c' }));
    const first = await ok(clock, control.run('watch_events', { session: 'watcher', wait_ms: 1000 }));
    expect((first.events as Array<{ event: string }>).map((e) => e.event)).toEqual(['NodeDataChanged']);
    // Nothing more until the watch is set again; the wait ends empty.
    const none = await ok(clock, control.run('watch_events', { session: 'watcher', wait_ms: 500 }));
    expect(none.events).toEqual([]);
    await ok(clock, control.run('watch', { path: '/w', session: 'watcher' }));
    const waiting = control.run('watch_events', { session: 'watcher', wait_ms: 10_000 });
    await ok(clock, control.run('rm', { path: '/w' }));
    expect(((await ok(clock, waiting)).events as Array<{ event: string }>).map((e) => e.event)).toEqual(['NodeDeleted']);
    const children = await ok(clock, control.run('watch', { path: '/', children: true, session: 'watcher' }));
    expect(children.description).toBe('watching the children of / (0 now)');
  });

  it('closes a leased session nobody used for its lease (a zk watch that was killed)', async () => {
    const { clock, ensemble, control } = setup();
    await ok(clock, control.run('watch', { path: '/', session: 'watch-1', lease_ms: 5000 }));
    expect(control.table.size).toBe(1);
    await clock.advance(6000);
    expect(control.table.size).toBe(0);
    expect(ensemble.tree().session_count).toBe(0);
  });

  it('tells a named session expired, then opens a new one under the name', async () => {
    const { clock, ensemble, control } = setup();
    await ok(clock, control.run('create', { path: '/eph', ephemeral: true, session: 's' }));
    const client = control.table.list()[0]!.client;
    ensemble.cutOff(client);
    await clock.advance(15_000);
    ensemble.heal(client);
    expect(ensemble.tree().exists('/eph')).toEqual({ ok: true, value: null });
    expect(await refused(clock, control.run('get', { path: '/', session: 's' }))).toMatch(/^SessionExpired: session s .* expired/);
    await ok(clock, control.run('get', { path: '/', session: 's' }));
    expect(control.table.list().map((s) => s.state)).toEqual(['connected']);
  });

  it('holds at most named_sessions_max named sessions', async () => {
    const { clock, control } = setup();
    for (let i = 0; i < named_sessions_max; i++) await ok(clock, control.run('get', { path: '/', session: `s${i}` }));
    expect(await refused(clock, control.run('get', { path: '/', session: 'one-more' }))).toMatch(/named_sessions_max/);
    await ok(clock, control.run('get', { path: '/', session: 's0' }));
  }, 30_000);

  it('lists the leader\'s sessions with their server, timeout and idle time, naming the ones it holds', async () => {
    const { clock, ensemble, control } = setup();
    // Not the first server: list_sessions follows the leader a server names.
    ensemble.leader_id = 'z3';
    await ok(clock, control.run('get', { path: '/', session: 'named' }));
    const listed = await ok(clock, control.run('sessions', {}));
    const rows = listed.sessions as Array<{ session: string; name: string | null; server: string | null; timeout_ms: number; idle_ms: number }>;
    // The named one, and the session-less one `sessions` itself does not open.
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'named', client: control.table.list()[0]!.client, timeout_ms: 2000, session: control.table.list()[0]!.session });
    expect(rows[0]!.client).toMatch(/^c\d+$/);
    expect(ensemble.ids).toContain(rows[0]!.server);
    expect(rows[0]!.idle_ms).toBeLessThan(2000);
    expect(listed.description).toMatch(/\(named, client c\d+\) on z\d, timeout 2000ms, last ping \d+ms ago/);
    ensemble.leader_id = 'nobody';
    expect(await refused(clock, control.run('sessions', {}))).toMatch(/^could not list sessions: z1: z1 is not the leader; z2: z2 is not the leader; z3: z3 is not the leader$/);
    // An election: nobody leads for a while, then z2 does.
    const asking = control.run('sessions', {});
    await clock.advance(1000);
    ensemble.leader_id = 'z2';
    expect(((await ok(clock, asking)).sessions as unknown[]).length).toBe(1);
  });

  it('closes every session on shutdown', async () => {
    const { clock, ensemble, control } = setup();
    await ok(clock, control.run('create', { path: '/e1', ephemeral: true, session: 'a' }));
    await ok(clock, control.run('create', { path: '/e2', ephemeral: true, session: 'b' }));
    await ok(clock, control.shutdown());
    expect(ensemble.tree().session_count).toBe(0);
    expect(ensemble.tree().paths()).toEqual(['/']);
  });
});

describe('the zk watch loop', () => {
  it('prints each change, setting the watch again after each, and closes its own session when stopped', async () => {
    const { clock, ensemble, control } = setup();
    await ok(clock, control.run('create', { path: '/w', data: 'a' }));
    const events: ZkWatchEvent[] = [];
    const armed: string[] = [];
    let stop!: () => void;
    const loop = watchLoop((op, args) => control.run(op, args), {
      path: '/w',
      children: false,
      onArmed: (r) => armed.push(r.description),
      onEvent: (e) => events.push(e),
      stop: new Promise((resolve) => (stop = resolve)),
    });
    await clock.advance(200);
    expect(armed).toEqual(['watching /w (version 0)']);
    expect(control.table.list().map((s) => s.lease_ms)).toEqual([expect.any(Number)]);
    for (const data of ['b', 'c']) {
      await ok(clock, control.run('set', { path: '/w', data }));
      await clock.advance(200);
    }
    await ok(clock, control.run('rm', { path: '/w' }));
    await clock.advance(200);
    await ok(clock, control.run('create', { path: '/w' }));
    await clock.advance(200);
    expect(events.map((e) => e.event)).toEqual(['NodeDataChanged', 'NodeDataChanged', 'NodeDeleted', 'NodeCreated']);
    expect(armed.at(-2)).toBe('watching /w (it does not exist)');
    stop();
    await ok(clock, loop);
    expect(control.table.size).toBe(0);
    expect(ensemble.tree().session_count).toBe(0);
  });

  it('keeps the user\'s named session when it stops, and ends a child watch when the znode goes', async () => {
    const { clock, control } = setup();
    await ok(clock, control.run('create', { path: '/p' }));
    const events: string[] = [];
    const loop = watchLoop((op, args) => control.run(op, args), {
      path: '/p',
      children: true,
      session: 'mine',
      onArmed: () => {},
      onEvent: (e) => events.push(e.event),
      stop: new Promise(() => {}),
    });
    await clock.advance(200);
    await ok(clock, control.run('create', { path: '/p/kid' }));
    await clock.advance(200);
    await ok(clock, control.run('rm', { path: '/p/kid' }));
    await clock.advance(200);
    await ok(clock, control.run('rm', { path: '/p' }));
    await ok(clock, loop);
    expect(events).toEqual(['NodeChildrenChanged', 'NodeChildrenChanged', 'NodeDeleted']);
    expect(control.table.list().map((s) => [s.name, s.state])).toEqual([['mine', 'connected']]);
  });
});

describe('workload client ids', () => {
  it('hands out the lowest free id of its range and takes released ones back', () => {
    const ids = new SessionClientIds();
    expect([ids.take(), ids.take(), ids.take()]).toEqual(['c2001', 'c2002', 'c2003']);
    ids.release('c2002');
    expect(ids.take()).toBe('c2002');
    expect(ids.size).toBe(3);
  });
});
