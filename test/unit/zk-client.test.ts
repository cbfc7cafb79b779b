import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/lib/runtime/node.js';
import { nodeTransport, ZkClient, ZkClientError, type ZkClientState, type ZkWatchEvent } from '../../src/lib/zk/client.js';
import { FakeEnsemble, VirtualClock } from '../helpers/zk-fake-ensemble.js';

let ensemble: FakeEnsemble | null = null;

function setup(): { clock: VirtualClock; ensemble: FakeEnsemble } {
  const clock = new VirtualClock();
  ensemble = new FakeEnsemble(clock);
  return { clock, ensemble };
}

afterEach(() => {
  ensemble?.stop();
  ensemble = null;
});

/** Runs a call while the virtual clock moves, and gives back its outcome. */
async function run<T>(clock: VirtualClock, call: Promise<T>, ms = 50): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  call.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  for (let waited = 0; outcome === null && waited < 60_000; waited += ms) await clock.advance(ms);
  if (outcome === null) throw new Error('the call never settled');
  return outcome;
}

async function value<T>(clock: VirtualClock, call: Promise<T>): Promise<T> {
  const outcome = await run(clock, call);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function failure(clock: VirtualClock, call: Promise<unknown>): Promise<ZkClientError> {
  const outcome = await run(clock, call);
  if (outcome.ok) throw new Error('expected the call to fail');
  expect(outcome.error).toBeInstanceOf(ZkClientError);
  return outcome.error as ZkClientError;
}

async function open(clock: VirtualClock, ensemble: FakeEnsemble, client: string, first = 'z1', timeout_ms = 1000): Promise<ZkClient> {
  return value(clock, ZkClient.connect(ensemble.transport(client), ensemble.ids, { timeout_ms, first }));
}

describe('ZkClient against a fake ensemble', () => {
  it('opens a session on the first server and runs the znode operations', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1', 'z2');
    expect(zk.server).toBe('z2');
    expect(zk.state).toBe('connected');
    expect(zk.timeout_ms).toBe(1000);
    const created = await value(clock, zk.create('/a', 'one'));
    expect(created.path).toBe('/a');
    expect(created.stat.version).toBe(0);
    expect(typeof created.stat.czxid).toBe('string');
    expect((await value(clock, zk.getData('/a'))).data).toBe('one');
    const stat = await value(clock, zk.setData('/a', 'two', 0));
    expect(stat.version).toBe(1);
    const seq = await value(clock, zk.create('/a/job-', '', { sequential: true }));
    expect(seq.path).toBe('/a/job-0000000000');
    expect(await value(clock, zk.getChildren('/a'))).toEqual(['job-0000000000']);
    expect(await value(clock, zk.exists('/b'))).toBeNull();
    await value(clock, zk.delete(seq.path));
    expect(await value(clock, zk.getChildren('/a'))).toEqual([]);
    expect(typeof (await value(clock, zk.sync('/a')))).toBe('string');
  });

  it('negotiates the timeout as the ensemble says', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1', 'z1', 60_000);
    // 20 ticks of 100ms at most.
    expect(zk.timeout_ms).toBe(2000);
  });

  it('throws errors by their ZooKeeper names, definite when nothing happened', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    await value(clock, zk.create('/a', 'x'));
    const exists = await failure(clock, zk.create('/a'));
    expect(exists.name_zk).toBe('NodeExists');
    expect(exists.definite).toBe(true);
    const missing = await failure(clock, zk.getData('/nope'));
    expect(missing.name_zk).toBe('NoNode');
    const version = await failure(clock, zk.setData('/a', 'y', 7));
    expect(version.name_zk).toBe('BadVersion');
    expect(version.code).toBe(22);
    await value(clock, zk.create('/a/b'));
    expect((await failure(clock, zk.delete('/a'))).name_zk).toBe('NotEmpty');
    await value(clock, zk.create('/e', '', { ephemeral: true }));
    expect((await failure(clock, zk.create('/e/child'))).name_zk).toBe('NoChildrenForEphemerals');
  });

  it('pings every third of its timeout and keeps the session alive long past it', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    await clock.advance(5000);
    expect(zk.state).toBe('connected');
    expect(ensemble.tree().hasSession(zk.session)).toBe(true);
    const pings = ensemble.received.filter((r) => r.body.type === 'ping').length;
    // 5000ms at one ping per 333ms.
    expect(pings).toBeGreaterThanOrEqual(13);
    expect(pings).toBeLessThanOrEqual(16);
    expect(clock.now_ms - zk.last_ok_ms).toBeLessThan(1000);
  });

  it('counts a session alive from when its answered request was sent, not from when a late answer was read', async () => {
    // A hand-driven transport: connect is answered at once, each ping 600 ms after it is sent (a slow
    // link, or a client paused with the answer in its input). The server heard the ping when it was sent.
    let now = 0;
    const timers: { at: number; run: () => void }[] = [];
    const sent_pings: number[] = [];
    const transport = {
      now: () => now,
      after(ms: number, run: () => void) {
        const timer = { at: now + ms, run };
        timers.push(timer);
        return () => void timers.splice(timers.indexOf(timer), 1);
      },
      onUnasked: () => () => {},
      rpc(_server: string, body: { type: string }): Promise<Record<string, unknown> & { type: string }> {
        if (body.type === 'connect') return Promise.resolve({ type: 'connect_ok', session: 's1', timeout_ms: 3000, server: 'z1', zxid: '1:0' });
        sent_pings.push(now);
        return new Promise((resolve) => timers.push({ at: now + 600, run: () => resolve({ type: 'ping_ok', zxid: '1:0' }) }));
      },
    };
    const zk = await ZkClient.connect(transport, ['z1'], { timeout_ms: 3000, first: 'z1' });
    expect(zk.last_ok_ms).toBe(0);
    while (sent_pings.length < 3) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift()!;
      now = next.at;
      next.run();
      await Promise.resolve();
      await Promise.resolve();
    }
    // The third ping just left; the second's answer was read 600 ms after it was sent. The session is
    // known alive from that sending only.
    expect(sent_pings[1]).toBeGreaterThan(0);
    expect(zk.last_ok_ms).toBe(sent_pings[1]);
    zk.close().catch(() => {});
  });

  it('reconnects to another server with its session when its server dies, keeping ephemerals', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    const states: ZkClientState[] = [];
    zk.on('state', (s) => states.push(s));
    await value(clock, zk.create('/lock', 'me', { ephemeral: true }));
    ensemble.crash('z1');
    await clock.advance(2000);
    expect(states).toEqual(['reconnecting', 'connected']);
    expect(zk.server).not.toBe('z1');
    expect(zk.state).toBe('connected');
    const stat = await value(clock, zk.exists('/lock'));
    expect(stat?.ephemeralOwner).toBe(zk.session);
    // Reconnected with the same session, not a new one.
    const connects = ensemble.received.filter((r) => r.body.type === 'connect');
    expect(connects.slice(1).every((r) => r.body.session === zk.session)).toBe(true);
  });

  it('moves off a server that stops serving and retries a write that server refused at the door', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    ensemble.setServing('z1', false);
    const created = await value(clock, zk.create('/x', 'v'));
    expect(created.path).toBe('/x');
    expect(zk.server).not.toBe('z1');
    // Applied once.
    expect(ensemble.tree().getData('/x')).toMatchObject({ ok: true, value: { data: 'v' } });
  });

  it('fails a write whose reply was lost as ConnectionLoss, not definite (it was applied)', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    ensemble.before_reply = (server, body) => {
      if (body.type === 'create') ensemble.crash(server);
    };
    const lost = await failure(clock, zk.create('/maybe', 'v'));
    expect(lost.name_zk).toBe('ConnectionLoss');
    expect(lost.definite).toBe(false);
    expect(ensemble.tree().getData('/maybe').ok).toBe(true);
    ensemble.before_reply = null;
    // The session goes on elsewhere.
    await clock.advance(1000);
    expect(zk.state).toBe('connected');
  });

  it('retries a read whose reply was lost on the next server', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    await value(clock, zk.create('/r', 'v'));
    ensemble.before_reply = (server, body) => {
      if (body.type === 'get_data' && server === 'z1') ensemble.crash(server);
    };
    expect((await value(clock, zk.getData('/r'))).data).toBe('v');
  });

  it('is expired once cut off for its whole timeout, and its ephemerals go', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    const other = await open(clock, ensemble, 'c2', 'z2');
    await value(clock, zk.create('/eph', '', { ephemeral: true }));
    ensemble.cutOff('c1');
    await clock.advance(3000);
    expect(zk.state).toBe('expired');
    expect(await value(clock, other.exists('/eph'))).toBeNull();
    ensemble.heal('c1');
    const gone = await failure(clock, zk.getData('/'));
    expect(gone.name_zk).toBe('SessionExpired');
  });

  it('is expired when the server says session_expired', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    // The leader expires it (as if no ping reached it); the client's server tells the client.
    ensemble.tracker.add(zk.session, 1, clock.now_ms);
    await clock.advance(200);
    expect(zk.state).toBe('expired');
  });

  it('delivers a watch event once, before the read that shows the change', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    const writer = await open(clock, ensemble, 'c2', 'z3');
    await value(clock, zk.create('/w', 'a'));
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    await value(clock, zk.getData('/w', true));
    void writer.setData('/w', 'b');
    // A read that sees the change finds its event already delivered.
    const seen = await value(clock, zk.getData('/w').then((r) => [r.data, events.length]));
    expect(seen).toEqual(['b', 1]);
    await value(clock, writer.setData('/w', 'c'));
    await clock.advance(100);
    expect(events.map((e) => [e.path, e.event])).toEqual([['/w', 'NodeDataChanged']]);
    // Child and exists watches.
    await value(clock, zk.getChildren('/w', true));
    expect(await value(clock, zk.exists('/new', true))).toBeNull();
    await value(clock, writer.create('/w/kid'));
    await value(clock, writer.create('/new'));
    await clock.advance(100);
    expect(events.slice(1).map((e) => [e.path, e.event])).toEqual([
      ['/w', 'NodeChildrenChanged'],
      ['/new', 'NodeCreated'],
    ]);
  });

  it.each([
    ['set_watches', true],
    ['reads again when the server has no set_watches', false],
    ['reads again when the server ignores set_watches', 'silent'],
  ] as const)('sets its watches again after a reconnect and delivers a change it missed once (%s)', async (_how, set_watches) => {
    const { clock, ensemble } = setup();
    ensemble.set_watches = set_watches;
    const zk = await open(clock, ensemble, 'c1', 'z1', 2000);
    const writer = await open(clock, ensemble, 'c2', 'z3');
    await value(clock, zk.create('/w', 'a'));
    await value(clock, zk.create('/unchanged', 'a'));
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    await value(clock, zk.getData('/w', true));
    await value(clock, zk.getData('/unchanged', true));
    const states: ZkClientState[] = [];
    zk.on('state', (s) => states.push(s));
    // Cut off for less than its timeout: the change happens while it is away, and the event is lost.
    ensemble.cutOff('c1');
    await value(clock, writer.setData('/w', 'b'));
    // Long enough that a ping goes unanswered (a ping every 666ms, each given 666ms), short of the timeout.
    await clock.advance(650);
    ensemble.heal('c1');
    await clock.advance(2000);
    expect(states).toEqual(['reconnecting', 'connected']);
    expect(events.map((e) => [e.path, e.event])).toEqual([['/w', 'NodeDataChanged']]);
    // The unchanged znode's watch was set again on the new server and still fires, once.
    await value(clock, writer.setData('/unchanged', 'b'));
    await value(clock, writer.setData('/w', 'c'));
    await clock.advance(100);
    expect(events.map((e) => [e.path, e.event])).toEqual([
      ['/w', 'NodeDataChanged'],
      ['/unchanged', 'NodeDataChanged'],
    ]);
  });

  it('after its server restarted within the session timeout (watches lost, yet its pings answered): sees the new incarnation, reconnects and sets its watches', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1', 'z1', 3000);
    const writer = await open(clock, ensemble, 'c2', 'z3');
    await value(clock, writer.create('/w', 'a'));
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    await value(clock, zk.getData('/w', true));
    // Down and up again between two pings: the next ping is answered, by a server with no watches.
    ensemble.crash('z1');
    ensemble.restart('z1');
    await value(clock, writer.setData('/w', 'b'));
    const received = ensemble.received.length;
    await clock.advance(1500);
    expect(zk.state).toBe('connected');
    expect(ensemble.received.slice(received).filter((r) => r.body.type === 'set_watches')).toHaveLength(1);
    expect(events.map((e) => [e.path, e.event])).toEqual([['/w', 'NodeDataChanged']]);
    // Once set again, the watch is not set twice: one more change, no event (it fired), and no further set_watches.
    await value(clock, writer.setData('/w', 'c'));
    await clock.advance(1500);
    expect(events).toHaveLength(1);
    expect(ensemble.received.slice(received).filter((r) => r.body.type === 'set_watches')).toHaveLength(1);
  });

  it('after its server resynchronized from a snapshot (watches lost, connection closed): reconnects, sends set_watches, and gets the missed event once', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1', 'z1', 3000);
    const writer = await open(clock, ensemble, 'c2', 'z3');
    await value(clock, writer.create('/w', 'a'));
    await value(clock, writer.create('/same', 'a'));
    await value(clock, writer.create('/dir'));
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    const w = await value(clock, zk.getData('/w', true));
    await value(clock, zk.getData('/same', true));
    await value(clock, zk.getChildren('/dir', true));
    expect(await value(clock, zk.exists('/later', true))).toBeNull();
    // z1 takes a SNAP: its watches are gone, so the changes meanwhile fire nothing there.
    ensemble.resync('z1');
    await value(clock, writer.setData('/w', 'b'));
    await value(clock, writer.create('/later'));
    const received = ensemble.received.length;
    // The next ping is refused (ConnectionLoss); the client reconnects and sets its watches.
    await clock.advance(1500);
    expect(zk.state).toBe('connected');
    const sent = ensemble.received.slice(received).filter((r) => r.body.type === 'set_watches');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ session: zk.session, data: ['/w', '/same'], exist: ['/later'], child: ['/dir'] });
    // Its relative zxid is the last the client saw: at least what its reads showed, short of the change it missed.
    const rel = String(sent[0]!.body.relative_zxid);
    const counter = (z: string) => Number(z.split(':')[1]);
    expect(rel.split(':')[0]).toBe(w.stat.mzxid.split(':')[0]);
    expect(counter(rel)).toBeGreaterThanOrEqual(counter(w.stat.mzxid));
    expect(events.map((e) => [e.path, e.event])).toEqual([
      ['/w', 'NodeDataChanged'],
      ['/later', 'NodeCreated'],
    ]);
    // No read was needed to set them again, and the unchanged ones fire once on their next change.
    expect(ensemble.received.slice(received).filter((r) => ['get_data', 'exists', 'get_children'].includes(String(r.body.type)))).toEqual([]);
    await value(clock, writer.setData('/same', 'b'));
    await value(clock, writer.create('/dir/kid'));
    await value(clock, writer.setData('/w', 'c'));
    await clock.advance(100);
    expect(events.slice(2).map((e) => [e.path, e.event])).toEqual([
      ['/same', 'NodeDataChanged'],
      ['/dir', 'NodeChildrenChanged'],
    ]);
  });

  it('closes its session: ephemerals go, later calls fail with SessionExpired and pings stop', async () => {
    const { clock, ensemble } = setup();
    const zk = await open(clock, ensemble, 'c1');
    await value(clock, zk.create('/eph', '', { ephemeral: true }));
    await value(clock, zk.close());
    expect(zk.state).toBe('closed');
    expect(ensemble.tree().exists('/eph')).toEqual({ ok: true, value: null });
    expect((await failure(clock, zk.exists('/'))).name_zk).toBe('SessionExpired');
    const before = ensemble.received.length;
    await clock.advance(3000);
    expect(ensemble.received.length).toBe(before);
  });

  it('gives up opening a session when no server answers, with ConnectionLoss', async () => {
    const { clock, ensemble } = setup();
    for (const id of ensemble.ids) ensemble.setServing(id, false);
    const error = await failure(clock, ZkClient.connect(ensemble.transport('c1'), ensemble.ids, { timeout_ms: 1000, connect_deadline_ms: 1000 }));
    expect(error.name_zk).toBe('ConnectionLoss');
    expect(error.message).toMatch(/not serving/);
  });
});

describe('nodeTransport', () => {
  it('turns error replies back into bodies and hands unasked messages to subscribers', async () => {
    const written: string[] = [];
    const node = new Node({ write: (text) => written.push(text), log: () => {}, exit: () => {}, now: () => 0 });
    await node.handleLine(JSON.stringify({ src: 'c0', dest: 'w1', body: { type: 'init', msg_id: 1, node_id: 'w1', node_ids: ['w1'] } }));
    const transport = nodeTransport(node);
    const reply = transport.rpc('z1', { type: 'get_data', session: 's1', path: '/x' }, 1000);
    await new Promise((resolve) => setImmediate(resolve));
    const sent = written.join('').trim().split('\n').map((line) => JSON.parse(line) as { dest: string; body: { type: string; msg_id: number } });
    const request = sent.find((m) => m.body.type === 'get_data')!;
    await node.handleLine(JSON.stringify({ src: 'z1', dest: 'w1', body: { type: 'error', in_reply_to: request.body.msg_id, code: 20, text: 'no znode /x', zk_error: 'NoNode' } }));
    expect(await reply).toMatchObject({ type: 'error', code: 20, zk_error: 'NoNode' });
    const seen: unknown[] = [];
    const unsubscribe = transport.onUnasked((from, body) => seen.push([from, body.type, body.path]));
    await node.handleLine(JSON.stringify({ src: 'z1', dest: 'w1', body: { type: 'watch_event', session: 's1', path: '/x', event: 'NodeCreated', zxid: '1:2' } }));
    unsubscribe();
    await node.handleLine(JSON.stringify({ src: 'z1', dest: 'w1', body: { type: 'watch_event', session: 's1', path: '/y', event: 'NodeCreated', zxid: '1:3' } }));
    expect(seen).toEqual([['z1', 'watch_event', '/x']]);
  });
});

describe('a watch whose event arrives with the reply that set it', () => {
  /**
   * A server that answers a watching exists and, in the same turn, sends the event of the next change:
   * the event reaches the client before the reply's continuation runs, as when both arrive in one read.
   */
  function racingServer(event: () => Record<string, unknown> | null) {
    const handlers = new Set<(from: string, body: Record<string, unknown> & { type: string }) => void>();
    return {
      rpc: (_server: string, body: { type: string; [k: string]: unknown }) =>
        new Promise<{ type: string; [k: string]: unknown }>((resolve) => {
          if (body.type === 'connect') return resolve({ type: 'connect_ok', session: 's1.1', timeout_ms: 60_000, server: 'n1', zxid: '1:0' });
          if (body.type === 'exists') {
            resolve({ type: 'exists_ok', stat: { mzxid: '1:5', pzxid: '1:5', version: 0 } });
            const e = event();
            if (e) for (const h of handlers) h('n1', { type: 'watch_event', session: 's1.1', ...e });
            return;
          }
          resolve({ type: `${body.type}_ok` });
        }),
      onUnasked: (h: (from: string, body: Record<string, unknown> & { type: string }) => void) => {
        handlers.add(h);
        return () => handlers.delete(h);
      },
      now: () => 0,
      after: () => () => undefined,
      /** A later event, on its own. */
      emit: (e: Record<string, unknown>) => {
        for (const h of handlers) h('n1', { type: 'watch_event', session: 's1.1', ...e });
      },
    };
  }

  it('is delivered, once, though the event came first', async () => {
    const zk = await ZkClient.connect(racingServer(() => ({ path: '/a', event: 'NodeDataChanged', zxid: '1:6' })) as never, ['n1'], { timeout_ms: 60_000 });
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    await zk.exists('/a', true);
    expect(events).toEqual([{ path: '/a', event: 'NodeDataChanged', zxid: '1:6' }]);
  });

  it('still stands after an older watch fired for a change the reply already shows', async () => {
    let first = true;
    const server = racingServer(() => {
      if (!first) return null;
      first = false;
      return { path: '/a', event: 'NodeDataChanged', zxid: '1:4' };
    });
    const zk = await ZkClient.connect(server as never, ['n1'], { timeout_ms: 60_000 });
    const events: ZkWatchEvent[] = [];
    zk.on('watch', (e) => events.push(e));
    await zk.exists('/a', true);
    expect(events.map((e) => e.zxid)).toEqual(['1:4']);
    // The read's own watch is still held: its event is delivered too.
    server.emit({ path: '/a', event: 'NodeDataChanged', zxid: '1:7' });
    expect(events.map((e) => e.zxid)).toEqual(['1:4', '1:7']);
  });
});
