// The ZooKeeper server (zk-server.ts) in process: three or more Zab cores, each with its ZkServer, over a
// small in-memory network with a fake clock, and clients that send the protocol's requests to any
// server. Each test drives one scenario and checks what the clients hear: replies, error names and
// codes, watch events and their order, session expiry through relayed pings, and what a server that
// lost its leader answers.

import { describe, expect, it } from 'vitest';
import type { Envelope, MessageBody } from '../../src/lib/protocol/messages.js';
import { ZabCore, type ServerConfig, type ZabConfig } from '../../src/systems/zab/core/core.js';
import { isZabMessage } from '../../src/systems/zab/core/messages.js';
import { ZkServer, type HostPlantedBug } from '../../src/systems/zab/zk-server.js';
import { ZkClient, ZkClientError, type ZkTransport, type ZkWatchEvent } from '../../src/lib/zk/client.js';

const timing: Partial<ZabConfig> = {
  finalize_wait_ms: 20,
  notification_interval_ms_min: 30,
  notification_interval_ms_max: 200,
  ping_interval_ms: 20,
  sync_limit_ms: 100,
  init_limit_ms: 300,
  learner_retry_ms: 20,
};
/** Session timeouts are negotiated to 2..20 ticks: 100..1000 ms. */
const tick_ms = 50;

interface Proc {
  core: ZabCore;
  server: ZkServer;
  applied: string[];
}

interface Flight {
  at: number;
  from: string;
  to: string;
  body: MessageBody;
}

class Ensemble {
  now = 0;
  readonly procs = new Map<string, Proc>();
  /** Everything each client received, in order. */
  readonly inbox = new Map<string, MessageBody[]>();
  /** Messages for which this returns true are lost. */
  drop: (from: string, to: string, body: MessageBody) => boolean = () => false;
  /** Messages for which this returns true arrive twice. */
  duplicate: (from: string, to: string, body: MessageBody) => boolean = () => false;
  /** Extra latency per link (ms). */
  delay: (from: string, to: string) => number = () => 0;
  private queue: Flight[] = [];
  private next_msg_id = 1;
  private readonly servers: ServerConfig[];

  constructor(
    readonly ids: string[],
    bug: HostPlantedBug | null = null,
    /** Each server's wall clock runs this far from the fake clock (the leader's stamps its txns). */
    wall_offset_ms: (id: string) => number = () => 0,
  ) {
    this.servers = ids.map((id, i) => ({ id, sid: i + 1, observer: false }));
    for (const id of ids) {
      const applied: string[] = [];
      let r = 0;
      const server: ZkServer = new ZkServer({
        id,
        incarnation: 7,
        tick_ms,
        now: () => this.now,
        wall_now: () => 1_000_000 + this.now + wall_offset_ms(id),
        send: (to, body) => this.send(id, to, body),
        propose: (txn) => core.propose(txn),
        report_apply: (index, epoch, zxid) => applied.push(`${index}@${epoch}=${zxid}`),
        planted_bug: bug,
      });
      const core: ZabCore = new ZabCore({ id, servers: this.servers, config: timing, random: () => (r = (r + 0.618034) % 1), now_ms: 0, prepare: server.prepare });
      this.procs.set(id, { core, server, applied });
      this.pump(id);
    }
  }

  private send(from: string, to: string, body: MessageBody): void {
    // Through JSON, as on a real link.
    const copy = JSON.parse(JSON.stringify(body)) as MessageBody;
    if (this.drop(from, to, copy)) return;
    this.queue.push({ at: this.now + 1 + this.delay(from, to), from, to, body: copy });
    if (this.duplicate(from, to, copy)) this.queue.push({ at: this.now + 2 + this.delay(from, to), from, to, body: copy });
  }

  private pump(id: string): void {
    const p = this.procs.get(id)!;
    const drain = () => {
      while (p.core.hasReady()) {
        const rd = p.core.ready();
        for (const m of rd.messages) this.send(id, m.to, m.body as unknown as MessageBody);
        p.server.onReady(rd);
      }
    };
    drain();
    p.server.tick();
    drain();
  }

  private deliver(m: Flight): void {
    const p = this.procs.get(m.to);
    if (!p) {
      this.inbox.set(m.to, [...(this.inbox.get(m.to) ?? []), m.body]);
      this.listeners.get(m.to)?.(m.body);
      return;
    }
    p.core.tick(this.now);
    if (this.procs.has(m.from)) {
      if (m.body.type === 'zk_touch') p.server.onServerMessage(m.from, m.body);
      else {
        expect(isZabMessage(m.body)).toBe(true);
        p.core.step(m.from, m.body as never);
      }
    } else {
      while (p.core.hasReady()) {
        const rd = p.core.ready();
        for (const x of rd.messages) this.send(m.to, x.to, x.body as unknown as MessageBody);
        p.server.onReady(rd);
      }
      p.server.handleClient({ src: m.from, dest: m.to, body: m.body } satisfies Envelope);
    }
    this.pump(m.to);
  }

  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.step();
  }

  /** A client's own handler of what reaches it (a ZkClient's transport). */
  readonly listeners = new Map<string, (body: MessageBody) => void>();
  private timers: { at: number; run: () => void }[] = [];

  /** A ZkClient's transport for client `client`: its requests and timers run on this ensemble's clock. */
  transport(client: string): ZkTransport {
    const waiting = new Map<number, (body: MessageBody) => void>();
    const unasked = new Set<(from: string, body: MessageBody) => void>();
    this.listeners.set(client, (body) => {
      const id = body.in_reply_to;
      if (typeof id === 'number') waiting.get(id)?.(body);
      else for (const h of unasked) h('?', body);
    });
    return {
      rpc: (server, body, timeout_ms) =>
        new Promise((resolve, reject) => {
          const msg_id = this.next_msg_id++;
          let done = false;
          waiting.set(msg_id, (reply) => {
            done = true;
            waiting.delete(msg_id);
            resolve(reply);
          });
          this.after(timeout_ms, () => {
            if (done) return;
            waiting.delete(msg_id);
            reject(new Error(`no reply to ${body.type} from ${server}`));
          });
          this.send(client, server, { ...body, msg_id });
        }),
      onUnasked: (handler) => {
        unasked.add(handler);
        return () => unasked.delete(handler);
      },
      now: () => this.now,
      after: (ms, run) => this.after(ms, run),
    };
  }

  private after(ms: number, run: () => void): () => void {
    const timer = { at: this.now + Math.max(0, ms), run };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Runs `ms` of the ensemble, letting the clients' promises settle after every millisecond. */
  async runAsync(ms: number): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.step();
      const due = this.timers.filter((t) => t.at <= this.now);
      this.timers = this.timers.filter((t) => t.at > this.now);
      for (const t of due) t.run();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  }

  step(): void {
    this.now += 1;
    for (const [id, p] of this.procs) {
      if (Math.min(p.core.nextTimerMs(), p.server.nextTimerMs()) <= this.now) {
        p.core.tick(this.now);
        this.pump(id);
      }
    }
    const due = this.queue.filter((m) => m.at <= this.now);
    this.queue = this.queue.filter((m) => m.at > this.now);
    for (const m of due) this.deliver(m);
  }

  /** Runs until everyone is in broadcast under one established leader; returns it. */
  settle(): string {
    for (let i = 0; i < 5000; i++) {
      const leaders = [...this.procs].filter(([, p]) => p.core.isEstablishedLeader()).map(([id]) => id);
      if (leaders.length === 1 && [...this.procs.values()].every((p) => p.server.isServing)) return leaders[0]!;
      this.step();
    }
    throw new Error('no settled leader within 5s');
  }

  leader(): string {
    return [...this.procs].find(([, p]) => p.core.isEstablishedLeader())![0];
  }

  followers(): string[] {
    return this.ids.filter((id) => id !== this.leader());
  }

  /** A client's request; runs the ensemble until its reply comes (or throws after within_ms). */
  rpc(client: string, server: string, body: MessageBody, within_ms = 2000): MessageBody {
    const msg_id = this.next_msg_id++;
    this.send(client, server, { ...body, msg_id });
    const end = this.now + within_ms;
    while (this.now < end) {
      this.step();
      const reply = this.received(client).find((b) => b.in_reply_to === msg_id);
      if (reply) return reply;
    }
    throw new Error(`${client}: no reply from ${server} to ${body.type} within ${within_ms}ms`);
  }

  /** A request whose reply nobody waits for. */
  sendOnly(client: string, server: string, body: MessageBody): void {
    this.send(client, server, { ...body, msg_id: this.next_msg_id++ });
  }

  received(client: string): MessageBody[] {
    return this.inbox.get(client) ?? [];
  }

  unasked(client: string, type: string): MessageBody[] {
    return this.received(client).filter((b) => b.type === type);
  }

  connect(client: string, server: string, timeout_ms = 600): string {
    const r = this.rpc(client, server, { type: 'connect', timeout_ms });
    expect(r.type).toBe('connect_ok');
    return r.session as string;
  }

  /** Pings from `client` to `server` every third of the timeout for `ms`. */
  keepAlive(client: string, server: string, session: string, ms: number, timeout_ms = 600): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.send(client, server, { type: 'ping', session, msg_id: this.next_msg_id++ });
      this.run(Math.floor(timeout_ms / 3));
    }
  }
}

const three = () => new Ensemble(['n1', 'n2', 'n3']);
/** The same choices every run (the shared client picks servers at random). */
const steady = () => {
  let r = 0;
  return () => (r = (r + 0.618034) % 1);
};

describe('zk server: sessions', () => {
  it('creates a session through the leader, which stamps its id; the timeout is negotiated to 2..20 ticks', () => {
    const z = three();
    const leader = z.settle();
    const follower = z.followers()[0]!;
    const epoch = z.procs.get(leader)!.core.activeEpoch()!;
    const r = z.rpc('c1', follower, { type: 'connect', timeout_ms: 1 });
    expect(r).toMatchObject({ type: 'connect_ok', session: `s${epoch.toString(16)}.1`, timeout_ms: 2 * tick_ms, server: follower, server_incarnation: 7, zxid: `${epoch}:1` });
    // Pings name the server's incarnation too, so a client notices a restart its pings outlived.
    expect(z.rpc('c1', follower, { type: 'ping', session: r.session })).toMatchObject({ type: 'ping_ok', server_incarnation: 7 });
    const big = z.rpc('c2', leader, { type: 'connect', timeout_ms: 1e9 });
    expect(big).toMatchObject({ type: 'connect_ok', session: `s${epoch.toString(16)}.2`, timeout_ms: 20 * tick_ms, server: leader });
    // Every server applied the same sequence.
    z.run(50);
    const applied = [...z.procs.values()].map((p) => p.applied.join(' '));
    expect(applied[0]).toBe(`1@${epoch}=${epoch}:1 2@${epoch}=${epoch}:2`);
    expect(new Set(applied).size).toBe(1);
    expect(z.rpc('c3', leader, { type: 'connect' })).toMatchObject({ type: 'error', code: 12, zk_error: 'BadArguments' });
  });

  it('keeps a session alive by pings relayed from a follower, and expires it when they stop: its ephemeral goes and watchers hear', () => {
    const z = three();
    const leader = z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1, 300);
    expect(z.rpc('c1', f1, { type: 'create', session: s, path: '/lock', data: 'me', ephemeral: true })).toMatchObject({ type: 'create_ok', path: '/lock' });
    const w = z.connect('c2', f2, 1000);
    expect(z.rpc('c2', f2, { type: 'exists', session: w, path: '/lock', watch: true })).toMatchObject({ type: 'exists_ok', stat: { ephemeralOwner: s } });
    // Pinging its follower for three timeouts keeps it: the follower relays to the leader.
    z.keepAlive('c1', f1, s, 900, 300);
    expect(z.unasked('c1', 'session_expired')).toEqual([]);
    const listed = z.rpc('c2', leader, { type: 'list_sessions' });
    expect(listed.type).toBe('list_sessions_ok');
    const mine = (listed.sessions as Array<Record<string, unknown>>).find((x) => x.session === s)!;
    expect(mine).toMatchObject({ timeout_ms: 300, server: f1 });
    expect(mine.idle_ms as number).toBeLessThan(300);
    // A follower answers list_sessions with 11 and names the leader.
    expect(z.rpc('c2', f1, { type: 'list_sessions' })).toMatchObject({ type: 'error', code: 11, leader });
    // c1 goes quiet (c2 keeps pinging): the leader expires c1's session by a txn.
    z.keepAlive('c2', f2, w, 800, 1000);
    expect(z.unasked('c1', 'session_expired')).toEqual([{ type: 'session_expired', session: s }]);
    expect(z.unasked('c2', 'watch_event')).toEqual([expect.objectContaining({ session: w, path: '/lock', event: 'NodeDeleted' })]);
    expect(z.rpc('c2', f2, { type: 'exists', session: w, path: '/lock' })).toMatchObject({ type: 'exists_ok', stat: null });
    expect(z.rpc('c1', f1, { type: 'ping', session: s })).toMatchObject({ type: 'error', code: 14, zk_error: 'SessionExpired' });
    for (const p of z.procs.values()) expect(p.server.session_count).toBe(1);
    // The leader reports the expiry for the event log (the followers applied it but did not expire it).
    expect(z.procs.get(leader)!.server.expiries()).toEqual({ sessions_expired: 1, last_expired_session: s, last_expired_ephemerals: '/lock' });
    for (const f of [f1, f2]) expect(z.procs.get(f)!.server.expiries()).toEqual({ sessions_expired: 0, last_expired_session: null, last_expired_ephemerals: null });
  });

  it('close_session deletes its ephemerals at once; a close lost on the way still ends in expiry', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1, 300);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/e', ephemeral: true });
    expect(z.rpc('c1', f1, { type: 'close_session', session: s })).toEqual({ type: 'close_session_ok', session: s, in_reply_to: expect.any(Number) });
    expect(z.rpc('c2', f2, { type: 'sync', session: z.connect('c2', f2, 1000) })).toMatchObject({ type: 'sync_ok' });
    expect(z.procs.get(f2)!.server.replica.tree.paths()).toEqual(['/']);

    const lost = z.connect('c3', f1, 300);
    z.rpc('c3', f1, { type: 'create', session: lost, path: '/e2', ephemeral: true });
    // The forwarded close never reaches the leader.
    z.drop = (from, _to, body) => from === f1 && body.type === 'request';
    z.sendOnly('c3', f1, { type: 'close_session', session: lost });
    z.run(100);
    z.drop = () => false;
    z.run(1500);
    expect(z.procs.get(f2)!.server.replica.tree.paths()).toEqual(['/']);
  });

  it('planted bug close_lost_keeps_ephemerals: the leader stops tracking at the close request, so a lost close keeps the ephemeral for ever', () => {
    const z = new Ensemble(['n1', 'n2', 'n3'], 'close_lost_keeps_ephemerals');
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const lost = z.connect('c3', f1, 300);
    z.rpc('c3', f1, { type: 'create', session: lost, path: '/e2', ephemeral: true });
    z.drop = (from, _to, body) => from === f1 && body.type === 'request';
    z.sendOnly('c3', f1, { type: 'close_session', session: lost });
    z.run(100);
    z.drop = () => false;
    z.run(1500);
    expect(z.procs.get(f2)!.server.replica.tree.paths()).toEqual(['/', '/e2']);
  });

  it('reconnects a session to another server, which keeps it; an unknown session is SessionExpired', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1, 600);
    const again = z.rpc('c1', f2, { type: 'connect', session: s, timeout_ms: 5000 });
    expect(again).toMatchObject({ type: 'connect_ok', session: s, timeout_ms: 600, server: f2 });
    expect(z.rpc('c1', f2, { type: 'create', session: s, path: '/x' })).toMatchObject({ type: 'create_ok' });
    expect(z.rpc('c9', f2, { type: 'connect', session: 's99.1', timeout_ms: 600 })).toMatchObject({ type: 'error', code: 14, zk_error: 'SessionExpired' });
  });

  it('a new leader adopts the sessions of its tree: a pinged session survives the failover, an abandoned one expires', () => {
    const z = new Ensemble(['n1', 'n2', 'n3', 'n4', 'n5']);
    const old = z.settle();
    const [a, b] = z.followers() as [string, string];
    const kept = z.connect('c1', a, 1000);
    const abandoned = z.connect('c2', b, 1000);
    z.rpc('c2', b, { type: 'create', session: abandoned, path: '/gone', ephemeral: true });
    // The leader is cut off from everyone.
    z.drop = (from, to) => from === old || to === old;
    let next: string | undefined;
    for (let t = 0; t < 40 && next === undefined; t++) {
      z.keepAlive('c1', a, kept, 100, 1000);
      next = [...z.procs].find(([id, p]) => id !== old && p.core.isEstablishedLeader())?.[0];
    }
    expect(next).toBeDefined();
    z.keepAlive('c1', a, kept, 2500, 1000);
    expect(z.unasked('c1', 'session_expired')).toEqual([]);
    expect(z.unasked('c2', 'session_expired')).toEqual([{ type: 'session_expired', session: abandoned }]);
    expect(z.procs.get(a)!.server.replica.tree.sessionList().map((x) => x.session)).toEqual([kept]);
    expect(z.procs.get(next!)!.server.trackedSessions()).toEqual([kept]);
  });
});

describe('zk server: znodes', () => {
  it('creates ephemeral and sequential znodes, reads them on another server, and names errors as ZooKeeper does', () => {
    // n1 and n2 run fast wall clocks: ctime is the leader's stamp, whoever asked.
    const z = new Ensemble(['n1', 'n2', 'n3'], null, (id) => Number(id.slice(1)) * 10_000);
    const leader = z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    const t = z.connect('c2', f2);
    expect(z.rpc('c1', f1, { type: 'create', session: s, path: '/app', data: 'top' })).toMatchObject({ type: 'create_ok', path: '/app', stat: { version: 0, ephemeralOwner: null } });
    const seq = [0, 1, 2].map(() => z.rpc('c1', f1, { type: 'create', session: s, path: '/app/q-', sequential: true }).path);
    expect(seq).toEqual(['/app/q-0000000000', '/app/q-0000000001', '/app/q-0000000002']);
    z.rpc('c1', f1, { type: 'delete', session: s, path: '/app/q-0000000002' });
    // The suffix comes from the parent's counter, which deletes do not move back.
    expect(z.rpc('c1', f1, { type: 'create', session: s, path: '/app/q-', sequential: true }).path).toBe('/app/q-0000000003');
    const eph = z.rpc('c1', f1, { type: 'create', session: s, path: '/app/me', data: 'x', ephemeral: true });
    expect(eph).toMatchObject({ stat: { ephemeralOwner: s, dataLength: 1 } });
    const ctime = (eph.stat as { ctime: number }).ctime - 1_000_000;
    expect(Math.floor(ctime / 10_000)).toBe(Number(leader.slice(1)));
    expect(ctime % 10_000).toBeLessThan(z.now);

    z.rpc('c2', f2, { type: 'sync', session: t });
    expect(z.rpc('c2', f2, { type: 'get_children', session: t, path: '/app' })).toMatchObject({
      type: 'get_children_ok',
      children: ['me', 'q-0000000000', 'q-0000000001', 'q-0000000003'],
      // Five creates and one delete, as ZooKeeper counts them.
      stat: { numChildren: 4, cversion: 6 },
    });
    const data = z.rpc('c2', f2, { type: 'get_data', session: t, path: '/app' });
    expect(data).toMatchObject({ type: 'get_data_ok', data: 'top', stat: { version: 0 } });
    expect((data.stat as { czxid: string }).czxid).toMatch(/^\d+:\d+$/);

    const err = (r: MessageBody) => ({ code: r.code, zk_error: r.zk_error });
    expect(err(z.rpc('c2', f2, { type: 'get_data', session: t, path: '/nope' }))).toEqual({ code: 20, zk_error: 'NoNode' });
    expect(err(z.rpc('c2', f2, { type: 'create', session: t, path: '/app' }))).toEqual({ code: 21, zk_error: 'NodeExists' });
    expect(err(z.rpc('c2', f2, { type: 'set_data', session: t, path: '/app', data: 'v', version: 5 }))).toEqual({ code: 22, zk_error: 'BadVersion' });
    expect(err(z.rpc('c2', f2, { type: 'delete', session: t, path: '/app' }))).toEqual({ code: 22, zk_error: 'NotEmpty' });
    expect(err(z.rpc('c2', f2, { type: 'create', session: t, path: '/app/me/kid' }))).toEqual({ code: 22, zk_error: 'NoChildrenForEphemerals' });
    expect(err(z.rpc('c2', f2, { type: 'create', session: t, path: 'no-slash' }))).toEqual({ code: 12, zk_error: 'BadArguments' });
    expect(err(z.rpc('c2', f2, { type: 'get_data', session: 'sff.1', path: '/app' }))).toEqual({ code: 14, zk_error: 'SessionExpired' });
    expect(err(z.rpc('c2', f2, { type: 'reconfig', session: t }))).toEqual({ code: 10, zk_error: 'Unimplemented' });
    expect(z.rpc('c2', f2, { type: 'set_data', session: t, path: '/app', data: 'v2', version: 0 })).toMatchObject({ type: 'set_data_ok', stat: { version: 1 } });
    expect(z.rpc('c2', f2, { type: 'delete', session: t, path: '/app/q-0000000000', version: 0 })).toMatchObject({ type: 'delete_ok', path: '/app/q-0000000000' });
  });

  it('proposes a forwarded request the network delivered twice only once', () => {
    const z = new Ensemble(['n1', 'n2', 'n3']);
    const leader = z.settle();
    const [f1] = z.followers() as [string];
    const s = z.connect('c1', f1);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/d', data: 'v0' });
    // Every request the follower forwards reaches the leader twice.
    z.duplicate = (from, to, body) => from === f1 && to === leader && body.type === 'request';
    expect(z.rpc('c1', f1, { type: 'set_data', session: s, path: '/d', data: 'v1' })).toMatchObject({ type: 'set_data_ok', stat: { version: 1 } });
    z.run(200);
    z.duplicate = () => false;
    // Applied twice, the set would have made version 2 on every server.
    for (const server of [leader, f1]) {
      expect(z.rpc('c1', server, { type: 'get_data', session: s, path: '/d' })).toMatchObject({ data: 'v1', stat: { version: 1 } });
    }
  });

  it('planted bug sequential_from_children: after a delete the suffix is one already used', () => {
    for (const bug of [null, 'sequential_from_children'] as const) {
      const z = new Ensemble(['n1', 'n2', 'n3'], bug);
      const leader = z.settle();
      const s = z.connect('c1', leader);
      z.rpc('c1', leader, { type: 'create', session: s, path: '/q' });
      const a = z.rpc('c1', leader, { type: 'create', session: s, path: '/q/n-', sequential: true }).path;
      z.rpc('c1', leader, { type: 'create', session: s, path: '/q/n-', sequential: true });
      z.rpc('c1', leader, { type: 'delete', session: s, path: a });
      const third = z.rpc('c1', leader, { type: 'create', session: s, path: '/q/n-', sequential: true });
      // One child left: the bug's suffix is 1, which /q/n-0000000001 already has.
      if (bug === null) expect(third).toMatchObject({ type: 'create_ok', path: '/q/n-0000000002' });
      else expect(third).toMatchObject({ type: 'error', zk_error: 'NodeExists', code: 21 });
    }
  });

  it('sync makes a lagging server catch up before the read', () => {
    const z = three();
    const leader = z.settle();
    const [f1, slow] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    const t = z.connect('c2', slow);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/v', data: 'old' });
    z.run(20);
    z.delay = (from, to) => (from === leader && to === slow ? 60 : 0);
    z.rpc('c1', f1, { type: 'set_data', session: s, path: '/v', data: 'new' });
    expect(z.rpc('c2', slow, { type: 'get_data', session: t, path: '/v' })).toMatchObject({ data: 'old' });
    expect(z.rpc('c2', slow, { type: 'sync', session: t, path: '/v' })).toMatchObject({ type: 'sync_ok' });
    expect(z.rpc('c2', slow, { type: 'get_data', session: t, path: '/v' })).toMatchObject({ data: 'new' });
  });
});

describe('zk server: watches', () => {
  it('fire once, on the watching client’s server, before the reply to a read that shows the change', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const w = z.connect('w', f1, 1000);
    const s = z.connect('c', f2, 1000);
    z.rpc('c', f2, { type: 'create', session: s, path: '/d', data: '1' });
    z.rpc('w', f1, { type: 'sync', session: w });
    z.rpc('w', f1, { type: 'get_data', session: w, path: '/d', watch: true });
    z.rpc('w', f1, { type: 'get_children', session: w, path: '/d', watch: true });
    z.rpc('w', f1, { type: 'exists', session: w, path: '/later', watch: true });
    z.rpc('c', f2, { type: 'set_data', session: s, path: '/d', data: '2' });
    z.rpc('c', f2, { type: 'set_data', session: s, path: '/d', data: '3' });
    z.rpc('c', f2, { type: 'create', session: s, path: '/d/kid' });
    z.rpc('c', f2, { type: 'create', session: s, path: '/later' });
    // The watcher's next read that shows the last change comes after every event.
    z.delay = () => 0;
    const seen = z.rpc('w', f1, { type: 'sync', session: w });
    expect(seen.type).toBe('sync_ok');
    const events = z.unasked('w', 'watch_event').map((e) => `${e.path as string} ${e.event as string}`);
    expect(events).toEqual(['/d NodeDataChanged', '/d NodeChildrenChanged', '/later NodeCreated']);
    expect(z.unasked('c', 'watch_event')).toEqual([]);
  });

  it('the event comes before the read reply that reflects it; planted bug watch_after_reply sends it after', () => {
    for (const bug of [null, 'watch_after_reply'] as const) {
      const z = new Ensemble(['n1', 'n2', 'n3'], bug);
      z.settle();
      const [f1, f2] = z.followers() as [string, string];
      const w = z.connect('w', f1, 1000);
      const s = z.connect('c', f2, 1000);
      z.rpc('c', f2, { type: 'create', session: s, path: '/d', data: '1' });
      z.rpc('w', f1, { type: 'sync', session: w });
      z.rpc('w', f1, { type: 'get_data', session: w, path: '/d', watch: true });
      // c's write and w's read race; w reads until it sees the new value.
      z.rpc('c', f2, { type: 'set_data', session: s, path: '/d', data: '2' });
      let reply: MessageBody;
      do reply = z.rpc('w', f1, { type: 'get_data', session: w, path: '/d' });
      while (reply.data !== '2');
      const inbox = z.received('w');
      const event = inbox.findIndex((b) => b.type === 'watch_event');
      const read = inbox.indexOf(reply);
      expect(event).toBeGreaterThanOrEqual(0);
      if (bug === null) expect(event).toBeLessThan(read);
      else expect(event).toBeGreaterThan(read);
    }
  });
});

describe('zk server: multi and check', () => {
  it('applies a multi as one txn on every server, with per-op results; watches on another server fire as the ops would', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    const w = z.connect('c2', f2, 1000);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/cfg', data: 'v0' });
    z.rpc('c2', f2, { type: 'sync', session: w });
    z.rpc('c2', f2, { type: 'get_data', session: w, path: '/cfg', watch: true });
    z.rpc('c2', f2, { type: 'exists', session: w, path: '/cfg/lock', watch: true });
    const applied_before = z.procs.get(f1)!.applied.length;
    const r = z.rpc('c1', f1, {
      type: 'multi',
      session: s,
      ops: [
        { type: 'check', path: '/cfg', version: 0 },
        { type: 'set_data', path: '/cfg', data: 'v1', version: 0 },
        { type: 'create', path: '/cfg/lock', data: 'me', ephemeral: true },
        { type: 'create', path: '/cfg/n-', sequential: true },
        { type: 'delete', path: '/cfg/n-0000000001', version: -1 },
      ],
    });
    expect(r).toMatchObject({
      type: 'multi_ok',
      results: [
        { type: 'check' },
        { type: 'set_data', stat: { version: 1 } },
        { type: 'create', path: '/cfg/lock', stat: { ephemeralOwner: s } },
        { type: 'create', path: '/cfg/n-0000000001' },
        { type: 'delete' },
      ],
    });
    const results = r.results as Array<Record<string, unknown>>;
    expect([results[0], results[4]]).toEqual([{ type: 'check' }, { type: 'delete' }]);
    expect(Object.keys(results[1]!).sort()).toEqual(['stat', 'type']);
    const zxid = (results[1]!.stat as { mzxid: string }).mzxid;
    expect((results[2]!.stat as { czxid: string }).czxid).toBe(zxid);
    // The sequential suffix counted the ephemeral created by the op before it in the same multi.
    z.run(50);
    expect(z.procs.get(f1)!.applied.length).toBe(applied_before + 1);
    expect(z.unasked('c2', 'watch_event').map((e) => `${e.path as string} ${e.event as string} ${e.zxid as string}`)).toEqual([`/cfg NodeDataChanged ${zxid}`, `/cfg/lock NodeCreated ${zxid}`]);
    expect(z.rpc('c2', f2, { type: 'get_children', session: w, path: '/cfg' })).toMatchObject({ children: ['lock'] });
  });

  it('a failed multi changes nothing anywhere and answers the failing op’s error with every op’s result', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/a', data: 'x' });
    const r = z.rpc('c1', f1, {
      type: 'multi',
      session: s,
      ops: [
        { type: 'set_data', path: '/a', data: 'y' },
        { type: 'create', path: '/a/b' },
        { type: 'delete', path: '/a', version: -1 },
        { type: 'create', path: '/c' },
      ],
    });
    expect(r).toMatchObject({
      type: 'error',
      code: 22,
      zk_error: 'NotEmpty',
      results: [
        { type: 'error', zk_error: 'Ok' },
        { type: 'error', zk_error: 'Ok' },
        { type: 'error', zk_error: 'NotEmpty' },
        { type: 'error', zk_error: 'RuntimeInconsistency' },
      ],
    });
    const t = z.connect('c2', f2);
    z.rpc('c2', f2, { type: 'sync', session: t });
    expect(z.rpc('c2', f2, { type: 'get_data', session: t, path: '/a' })).toMatchObject({ data: 'x', stat: { version: 0, numChildren: 0 } });
    expect(z.rpc('c2', f2, { type: 'exists', session: t, path: '/c' })).toMatchObject({ stat: null });
    // An invalid path is its op's error, as ZooKeeper's server reports it.
    expect(z.rpc('c1', f1, { type: 'multi', session: s, ops: [{ type: 'create', path: '/ok' }, { type: 'delete', path: 'no-slash' }] })).toMatchObject({
      type: 'error',
      code: 12,
      zk_error: 'BadArguments',
      results: [{ zk_error: 'Ok' }, { zk_error: 'BadArguments' }],
    });
    // A malformed multi is refused whole, before the ensemble sees it: no results.
    const bad = z.rpc('c1', f1, { type: 'multi', session: s, ops: [{ type: 'create', path: '/x' }, { type: 'get_data', path: '/a' }] });
    expect(bad).toMatchObject({ type: 'error', code: 12, zk_error: 'BadArguments' });
    expect(bad).not.toHaveProperty('results');
  });

  it('a multi of reads only is served by the server asked, each op on its own', () => {
    const z = three();
    z.settle();
    const [f1] = z.followers() as [string];
    const s = z.connect('c1', f1);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/r', data: 'd' });
    z.rpc('c1', f1, { type: 'create', session: s, path: '/r/k' });
    const r = z.rpc('c1', f1, { type: 'multi', session: s, ops: [{ type: 'get_data', path: '/r' }, { type: 'get_children', path: '/none' }, { type: 'get_children', path: '/r' }] });
    expect(r).toMatchObject({ type: 'multi_ok', results: [{ type: 'get_data', data: 'd', stat: { numChildren: 1 } }, { type: 'error', zk_error: 'NoNode' }, { type: 'get_children', children: ['k'] }] });
    expect(typeof ((r.results as Array<{ stat?: { czxid: unknown } }>)[0]!.stat!.czxid)).toBe('string');
  });

  it('check goes through the ensemble: check_ok, BadVersion, NoNode', () => {
    const z = three();
    z.settle();
    const [f1] = z.followers() as [string];
    const s = z.connect('c1', f1);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/v' });
    expect(z.rpc('c1', f1, { type: 'check', session: s, path: '/v', version: 0 })).toMatchObject({ type: 'check_ok', path: '/v' });
    expect(z.rpc('c1', f1, { type: 'check', session: s, path: '/v', version: 3 })).toMatchObject({ type: 'error', code: 22, zk_error: 'BadVersion' });
    expect(z.rpc('c1', f1, { type: 'check', session: s, path: '/w', version: -1 })).toMatchObject({ type: 'error', code: 20, zk_error: 'NoNode' });
  });
});

describe('zk server: containers, watch removal, ACLs, connect', () => {
  it('the leader deletes a container once it had a child and has none; an unused container stays; watchers hear NodeDeleted', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1, 1000);
    const w = z.connect('c2', f2, 1000);
    expect(z.rpc('c1', f1, { type: 'create', session: s, path: '/locks', container: true })).toMatchObject({ type: 'create_ok', stat: { container: true, ephemeralOwner: null } });
    z.rpc('c1', f1, { type: 'create', session: s, path: '/unused', container: true });
    expect(z.rpc('c1', f1, { type: 'create', session: s, path: '/bad', container: true, ephemeral: true })).toMatchObject({ type: 'error', zk_error: 'BadArguments' });
    const kid = z.rpc('c1', f1, { type: 'create', session: s, path: '/locks/lock-', sequential: true, ephemeral: true }).path as string;
    z.rpc('c2', f2, { type: 'sync', session: w });
    z.rpc('c2', f2, { type: 'exists', session: w, path: '/locks', watch: true });
    // Both sessions ping, so the watch outlives the wait.
    const wait = (ms: number) => {
      for (let t = 0; t < ms; t += 300) {
        z.sendOnly('c2', f2, { type: 'ping', session: w });
        z.keepAlive('c1', f1, s, 300, 1000);
      }
    };
    // With a child it stays, however long.
    wait(1500);
    expect(z.unasked('c2', 'watch_event')).toEqual([]);
    z.rpc('c1', f1, { type: 'delete', session: s, path: kid });
    wait(1500);
    expect(z.unasked('c2', 'watch_event')).toEqual([expect.objectContaining({ path: '/locks', event: 'NodeDeleted' })]);
    for (const p of z.procs.values()) expect(p.server.replica.tree.paths()).toEqual(['/', '/unused']);
  });

  it('remove_watches ends a watch (no event comes from it) and check_watches tells whether one is held; NoWatcher when none', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    const w = z.connect('c2', f2, 1000);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/d' });
    z.rpc('c2', f2, { type: 'sync', session: w });
    z.rpc('c2', f2, { type: 'get_data', session: w, path: '/d', watch: true });
    z.rpc('c2', f2, { type: 'get_children', session: w, path: '/d', watch: true });
    expect(z.rpc('c2', f2, { type: 'check_watches', session: w, path: '/d', watcher_type: 2 })).toMatchObject({ type: 'check_watches_ok', path: '/d' });
    expect(z.rpc('c2', f2, { type: 'remove_watches', session: w, path: '/d', watcher_type: 2 })).toMatchObject({ type: 'remove_watches_ok', path: '/d' });
    expect(z.rpc('c2', f2, { type: 'check_watches', session: w, path: '/d', watcher_type: 2 })).toMatchObject({ type: 'error', code: 20, zk_error: 'NoWatcher' });
    expect(z.rpc('c2', f2, { type: 'remove_watches', session: w, path: '/d', watcher_type: 2 })).toMatchObject({ type: 'error', code: 20, zk_error: 'NoWatcher' });
    // The watches are the server's: the session's other server holds none.
    expect(z.rpc('c2', f1, { type: 'check_watches', session: w, path: '/d', watcher_type: 1 })).toMatchObject({ zk_error: 'NoWatcher' });
    z.rpc('c1', f1, { type: 'set_data', session: s, path: '/d', data: 'x' });
    z.rpc('c1', f1, { type: 'create', session: s, path: '/d/k' });
    z.rpc('c2', f2, { type: 'sync', session: w });
    expect(z.unasked('c2', 'watch_event').map((e) => e.event)).toEqual(['NodeChildrenChanged']);
    expect(z.rpc('c2', f2, { type: 'remove_watches', session: w, path: '/d' })).toMatchObject({ zk_error: 'BadArguments' });
  });

  it('get_acl answers the open ACL with the stat; set_acl is a txn that bumps the ACL version, answered once applied on the follower asked', () => {
    const z = three();
    z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    const w = z.connect('c2', f2, 1000);
    const created = z.rpc('c1', f1, { type: 'create', session: s, path: '/a', data: 'xy' });
    const open = [{ scheme: 'world', id: 'anyone', perms: 31 }];
    expect(z.rpc('c1', f1, { type: 'get_acl', session: s, path: '/a' })).toMatchObject({ type: 'get_acl_ok', acl: open, stat: { dataLength: 2, aversion: 0 } });
    expect(z.rpc('c1', f1, { type: 'get_acl', session: s, path: '/b' })).toMatchObject({ type: 'error', zk_error: 'NoNode' });
    // A watcher on another server hears nothing of an ACL change (ZooKeeper's setACL fires no watch).
    z.rpc('c2', f2, { type: 'sync', session: w });
    z.rpc('c2', f2, { type: 'get_data', session: w, path: '/a', watch: true });
    const applied_before = z.procs.get(f1)!.applied.length;
    const set = z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: open, version: 0 });
    // Answered once f1 applied it: its own tree already shows the new ACL version, under a zxid of its own.
    expect(set).toMatchObject({ type: 'set_acl_ok', stat: { aversion: 1, version: 0, dataLength: 2 } });
    expect(z.procs.get(f1)!.server.replica.tree.exists('/a')).toMatchObject({ ok: true, value: { aversion: 1 } });
    expect(z.procs.get(f1)!.applied.length).toBe(applied_before + 1);
    // Neither the data version nor mzxid moves.
    const created_stat = created.stat as Record<string, unknown>;
    expect(set.stat).toMatchObject({ mzxid: created_stat.mzxid, czxid: created_stat.czxid, mtime: created_stat.mtime });
    // The version asked is checked against the ACL version, not the data version.
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: open, version: 0 })).toMatchObject({ type: 'error', code: 22, zk_error: 'BadVersion' });
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: open, version: 1 })).toMatchObject({ type: 'set_acl_ok', stat: { aversion: 2 } });
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: open })).toMatchObject({ type: 'set_acl_ok', stat: { aversion: 3 } });
    // Every replica applied the same: the other follower's reads show it too.
    z.rpc('c2', f2, { type: 'sync', session: w });
    expect(z.rpc('c2', f2, { type: 'exists', session: w, path: '/a' })).toMatchObject({ type: 'exists_ok', stat: { aversion: 3, version: 0 } });
    expect(z.unasked('c2', 'watch_event')).toEqual([]);
    const mine = [{ scheme: 'digest', id: 'me:x', perms: 31 }];
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: mine, version: -1 })).toMatchObject({ type: 'error', code: 10, zk_error: 'Unimplemented' });
    // As ZooKeeper orders its checks: the path before the ACL, the ACL before the znode.
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: 'a', acl: mine })).toMatchObject({ type: 'error', zk_error: 'BadArguments' });
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/b', acl: mine })).toMatchObject({ type: 'error', zk_error: 'Unimplemented' });
    expect(z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/b', acl: open })).toMatchObject({ type: 'error', code: 20, zk_error: 'NoNode' });
    expect(z.rpc('c1', f1, { type: 'set_acl', session: 's9.9', path: '/a', acl: open, version: 0 })).toMatchObject({ type: 'error', zk_error: 'SessionExpired' });
    // ZooKeeper's multi has no setACL op.
    const multi = z.rpc('c1', f1, { type: 'multi', session: s, ops: [{ type: 'set_acl', path: '/a', acl: open, version: -1 }] });
    expect(multi).toMatchObject({ type: 'error', zk_error: 'BadArguments' });
    expect(z.procs.get(f1)!.server.replica.tree.exists('/a')).toMatchObject({ ok: true, value: { aversion: 3 } });
  });

  it('refuses a connect from a client that saw a later zxid than the server applied (ZxidAhead 11); another server takes it', () => {
    const z = three();
    const leader = z.settle();
    const [f1, slow] = z.followers() as [string, string];
    const s = z.connect('c1', f1);
    z.run(20);
    // The leader's messages reach `slow` late: it applies the write after the client saw it.
    z.delay = (from, to) => (from === leader && to === slow ? 300 : 0);
    const seen = (z.rpc('c1', f1, { type: 'create', session: s, path: '/x' }).stat as { czxid: string }).czxid;
    const sessions_before = z.procs.get(leader)!.server.session_count;
    const refused = z.rpc('c1', slow, { type: 'connect', session: s, last_zxid_seen: seen });
    expect(refused).toMatchObject({ type: 'error', code: 11, zk_error: 'ZxidAhead' });
    expect(z.rpc('c9', slow, { type: 'connect', timeout_ms: 600, last_zxid_seen: seen })).toMatchObject({ type: 'error', code: 11, zk_error: 'ZxidAhead' });
    expect(z.procs.get(leader)!.server.session_count).toBe(sessions_before);
    expect(z.rpc('c1', leader, { type: 'connect', session: s, last_zxid_seen: seen })).toMatchObject({ type: 'connect_ok', session: s });
    // Once it caught up, the slow server takes it too.
    z.delay = () => 0;
    z.run(400);
    expect(z.rpc('c1', slow, { type: 'connect', session: s, last_zxid_seen: seen })).toMatchObject({ type: 'connect_ok', session: s });
    expect(z.rpc('c1', slow, { type: 'connect', session: s, last_zxid_seen: 'soon' })).toMatchObject({ type: 'error', code: 12, zk_error: 'BadArguments' });
  });
});

describe('zk server: not serving', () => {
  it('answers ConnectionLoss 11 at the door when cut off from its leader, and 13 for a write in flight', () => {
    const z = three();
    const leader = z.settle();
    const [f1] = z.followers() as [string];
    const s = z.connect('c1', f1, 1000);
    // The follower's link to the leader goes: its write is forwarded into the void.
    z.drop = (from, to) => (from === f1 && to !== 'c1') || (to === f1 && from !== 'c1');
    z.sendOnly('c1', f1, { type: 'check', session: s, path: '/', version: -1 });
    const write = z.rpc('c1', f1, { type: 'set_data', session: s, path: '/', data: 'x' }, 3000);
    expect(write).toMatchObject({ type: 'error', code: 13, zk_error: 'ConnectionLoss' });
    // A check in flight changes nothing whatever became of it: definite.
    const check = z.received('c1').find((b) => b.type === 'error' && b.in_reply_to !== write.in_reply_to);
    expect(check).toMatchObject({ code: 11, zk_error: 'ConnectionLoss' });
    expect(z.rpc('c1', f1, { type: 'ping', session: s })).toMatchObject({ type: 'error', code: 11, zk_error: 'ConnectionLoss' });
    expect(z.rpc('c1', f1, { type: 'get_data', session: s, path: '/' })).toMatchObject({ type: 'error', code: 11, zk_error: 'ConnectionLoss' });
    expect(z.rpc('c1', f1, { type: 'connect', timeout_ms: 1000 })).toMatchObject({ type: 'error', code: 11, zk_error: 'ConnectionLoss' });
    expect(leader).not.toBe(f1);
  });

  it('a set_acl in flight when the follower loses its leader is a write: ConnectionLoss 13, it may still apply', () => {
    const z = three();
    z.settle();
    const [f1] = z.followers() as [string];
    const s = z.connect('c1', f1, 1000);
    z.rpc('c1', f1, { type: 'create', session: s, path: '/a' });
    z.drop = (from, to) => (from === f1 && to !== 'c1') || (to === f1 && from !== 'c1');
    const r = z.rpc('c1', f1, { type: 'set_acl', session: s, path: '/a', acl: [{ scheme: 'world', id: 'anyone', perms: 31 }], version: -1 }, 3000);
    expect(r).toMatchObject({ type: 'error', code: 13, zk_error: 'ConnectionLoss' });
  });
});

describe('zk server: snapshots', () => {
  it('restores the tree and the applied count from its image', () => {
    const z = three();
    const leader = z.settle();
    const s = z.connect('c1', leader);
    z.rpc('c1', leader, { type: 'create', session: s, path: '/a', data: 'x', ephemeral: true });
    const p = z.procs.get(leader)!;
    const image = JSON.parse(JSON.stringify(p.server.snapshot())) as unknown;
    const fresh = new ZkServer({ id: 'n9', incarnation: 1, tick_ms, now: () => 0, wall_now: () => 0, send: () => undefined, propose: () => ({ ok: false, error: 'not_ready', leader: null }), report_apply: () => undefined });
    const state = p.core.report();
    fresh.onReady({ accepted_epoch: null, current_epoch: null, snapshot: null, log_truncate_after: null, log_append: [], messages: [], apply_snapshot: { zxid: p.server.applied_zxid, data: image }, committed: [], events: [], state });
    expect(fresh.replica.tree.paths()).toEqual(['/', '/a']);
    expect(fresh.replica.tree.ephemeralsOf(s)).toEqual(['/a']);
    expect(fresh.snapshot().count).toBe(2);
  });
});

describe('zk server: set_watches and a SNAP resync', () => {
  /** w watches /d (and /u, /gone, /kids, /new) at f1; f1 is cut off while /d changes, and rejoins by SNAP. */
  function resynced() {
    const z = three();
    const leader = z.settle();
    const [f1, f2] = z.followers() as [string, string];
    const w = z.connect('w', f1, 1000);
    const c = z.connect('c', f2, 1000);
    for (const path of ['/d', '/u', '/gone', '/kids']) z.rpc('c', f2, { type: 'create', session: c, path, data: '1' });
    const seen = z.rpc('w', f1, { type: 'sync', session: w }).zxid as string;
    for (const path of ['/d', '/u', '/gone']) z.rpc('w', f1, { type: 'get_data', session: w, path, watch: true });
    z.rpc('w', f1, { type: 'get_children', session: w, path: '/kids', watch: true });
    z.rpc('w', f1, { type: 'exists', session: w, path: '/new', watch: true });
    // f1 loses its links to the other servers (not to its client) while the tree changes.
    z.drop = (from, to) => z.ids.includes(from) && z.ids.includes(to) && (from === f1 || to === f1);
    z.rpc('c', f2, { type: 'set_data', session: c, path: '/d', data: '2' });
    z.rpc('c', f2, { type: 'delete', session: c, path: '/gone' });
    z.rpc('c', f2, { type: 'create', session: c, path: '/kids/k' });
    z.rpc('c', f2, { type: 'create', session: c, path: '/new' });
    // The leader snapshots: f1 is now below its log window and must take a SNAP.
    const lp = z.procs.get(leader)!;
    lp.core.compact(lp.server.applied_zxid, lp.server.snapshot());
    z.drop = () => false;
    for (let i = 0; i < 2000 && !(z.procs.get(f1)!.server.isServing && z.procs.get(f1)!.core.report().sync_mode === 'SNAP'); i++) z.run(1);
    expect(z.procs.get(f1)!.core.report()).toMatchObject({ sync_mode: 'SNAP', phase: 'broadcast' });
    return { z, f1, f2, w, c, seen };
  }

  it('a server that took a SNAP closes its clients’ connections; set_watches after the reconnect fires each missed change once and sets the rest', () => {
    const { z, f1, f2, w, c, seen } = resynced();
    // The watches went with the old tree: f1 refuses the session until its client reconnects.
    expect(z.unasked('w', 'watch_event')).toEqual([]);
    expect(z.rpc('w', f1, { type: 'ping', session: w })).toMatchObject({ type: 'error', code: 11, zk_error: 'ConnectionLoss' });
    expect(z.rpc('w', f1, { type: 'get_data', session: w, path: '/u' })).toMatchObject({ type: 'error', code: 11, zk_error: 'ConnectionLoss' });
    expect(z.rpc('w', f1, { type: 'connect', session: w, timeout_ms: 1000 })).toMatchObject({ type: 'connect_ok', session: w, server: f1 });
    const set = z.rpc('w', f1, { type: 'set_watches', session: w, relative_zxid: seen, data: ['/d', '/u', '/gone'], exist: ['/new'], child: ['/kids'] });
    expect(set).toMatchObject({ type: 'set_watches_ok', session: w, fired: 4 });
    const events = () => z.unasked('w', 'watch_event').map((e) => `${e.path as string} ${e.event as string}`);
    expect(events()).toEqual(['/d NodeDataChanged', '/gone NodeDeleted', '/new NodeCreated', '/kids NodeChildrenChanged']);
    // The event for /d carries the zxid of the change.
    const d = z.rpc('w', f1, { type: 'get_data', session: w, path: '/d' });
    expect(z.unasked('w', 'watch_event')[0]!.zxid).toBe((d.stat as { mzxid: string }).mzxid);
    // Fired watches are gone; the unchanged one was set and fires once on its change.
    for (const path of ['/d', '/u', '/new']) z.rpc('c', f2, { type: 'set_data', session: c, path, data: '3' });
    z.rpc('c', f2, { type: 'create', session: c, path: '/kids/k2' });
    z.rpc('w', f1, { type: 'sync', session: w });
    expect(events()).toEqual(['/d NodeDataChanged', '/gone NodeDeleted', '/new NodeCreated', '/kids NodeChildrenChanged', '/u NodeDataChanged']);
  });

  it('the shared client, connected to a server that takes a SNAP while its watched znode changes, reconnects and gets the event exactly once', async () => {
    const z = three();
    const leader = z.settle();
    const [f1, f2] = z.followers() as [string, string];
    /** Runs the ensemble until the promise settles; its value. */
    const until = async <T>(p: Promise<T>): Promise<T> => {
      let out: { v: T } | { error: unknown } | null = null;
      p.then(
        (v) => (out = { v }),
        (error: unknown) => (out = { error }),
      );
      for (let i = 0; i < 3000 && out === null; i++) await z.runAsync(1);
      expect(out, 'settled').not.toBeNull();
      if ('error' in out!) throw out.error;
      return out!.v;
    };
    const writer = await until(ZkClient.connect(z.transport('c'), z.ids, { timeout_ms: 1000, first: f2, random: steady() }));
    await until(writer.create('/d', '1'));
    const client = await until(ZkClient.connect(z.transport('w'), z.ids, { timeout_ms: 1000, first: f1, random: steady() }));
    expect(client.server).toBe(f1);
    const events: ZkWatchEvent[] = [];
    client.on('watch', (e) => events.push(e));
    expect(await until(client.sync().then(() => client.getData('/d', true)))).toMatchObject({ data: '1' });
    // f1 is cut off from the other servers (not from its client) while /d changes, and the leader snapshots.
    z.drop = (from, to) => z.ids.includes(from) && z.ids.includes(to) && (from === f1 || to === f1);
    await until(writer.setData('/d', '2'));
    const lp = z.procs.get(leader)!;
    lp.core.compact(lp.server.applied_zxid, lp.server.snapshot());
    z.drop = () => false;
    for (let i = 0; i < 2000 && z.procs.get(f1)!.core.report().sync_mode !== 'SNAP'; i++) await z.runAsync(1);
    expect(z.procs.get(f1)!.core.report().sync_mode).toBe('SNAP');
    await z.runAsync(1500);
    expect(client.state).toBe('connected');
    expect(events.map((e) => `${e.path} ${e.event}`)).toEqual(['/d NodeDataChanged']);
    // Once: a later change fires nothing (the watch was used).
    await until(writer.setData('/d', '3'));
    await z.runAsync(300);
    expect(events).toHaveLength(1);
    // Watching again, the client loses its server altogether and moves on while /d changes.
    expect(await until(client.sync().then(() => client.getData('/d', true)))).toMatchObject({ data: '3' });
    const was = client.server!;
    // A follower: the client moves; the leader and its quorum stay.
    expect(was).not.toBe(leader);
    z.drop = (from, to) => from === was || to === was;
    // The writer may have to move too (or wait for a new leader, if `was` led): its write is retried until it is in.
    for (let attempt = 0; attempt < 10; attempt++) {
      // Conditional on version 2 ('3'): BadVersion on a retry means an attempt whose answer was lost got in.
      const attempt_result = writer.setData('/d', '4', 2).then(
        () => true,
        (error: unknown) => {
          if (error instanceof ZkClientError && error.name_zk === 'BadVersion') return true;
          if (error instanceof ZkClientError && error.name_zk === 'ConnectionLoss') return false;
          throw error;
        },
      );
      const ok = await until(attempt_result);
      if (ok) break;
      await z.runAsync(200);
    }
    await z.runAsync(2000);
    expect(client.state).toBe('connected');
    expect(client.server).not.toBe(was);
    expect(events.map((e) => `${e.path} ${e.event}`)).toEqual(['/d NodeDataChanged', '/d NodeDataChanged']);
    expect(client.session).toBeTruthy();
  });

  it('set_watches names ZooKeeper errors for a bad zxid, bad paths and a closed session; a reconnect drops the old connection’s watches', () => {
    const z = three();
    z.settle();
    const [f1] = z.followers() as [string];
    const w = z.connect('w', f1, 1000);
    const err = (body: MessageBody) => {
      const r = z.rpc('w', f1, { type: 'set_watches', session: w, ...body });
      return `${r.code as number} ${r.zk_error as string}`;
    };
    expect(err({ relative_zxid: 'soon', data: [] })).toBe('12 BadArguments');
    expect(err({ relative_zxid: '1:0', data: 'not a list' })).toBe('12 BadArguments');
    expect(err({ relative_zxid: '1:0', child: ['no-slash'] })).toBe('12 BadArguments');
    expect(z.rpc('w', f1, { type: 'set_watches', session: 's77.1', relative_zxid: '1:0' })).toMatchObject({ code: 14, zk_error: 'SessionExpired' });
    // A watch set before a reconnect to the same server is gone unless set_watches sets it again.
    z.rpc('w', f1, { type: 'exists', session: w, path: '/x', watch: true });
    expect(z.rpc('w', f1, { type: 'connect', session: w, timeout_ms: 1000 })).toMatchObject({ type: 'connect_ok' });
    z.rpc('w', f1, { type: 'create', session: w, path: '/x' });
    z.rpc('w', f1, { type: 'sync', session: w });
    expect(z.unasked('w', 'watch_event')).toEqual([]);
  });
});
