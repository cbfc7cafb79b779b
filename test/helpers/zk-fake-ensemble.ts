// An in-process stand-in for a Zab ensemble, made of the coordinator's pure modules (ZkReplica, the
// leader's SessionTracker): every server applies the same txns in the same order at once (no election,
// no log), serves reads from its own replica and fires its own clients' watches, and speaks the
// client protocol of README "Zab" over a virtual clock. Tests crash servers, stop them serving and cut
// clients off to see what the client library does.

import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { zk_error_table, type ZkErrorName } from '../../src/lib/zk/errors.js';
import { negotiateSessionTimeout, SessionIdSource, SessionTracker } from '../../src/systems/zab/core/sessions.js';
import { ZkTree, type Stat as TreeStat, type ZkTxn } from '../../src/systems/zab/core/tree.js';
import { ZkReplica, type ZkRead } from '../../src/systems/zab/core/watches.js';
import { formatZxid, parseZxid, zxid } from '../../src/systems/zab/core/zxid.js';
import type { ZkTransport } from '../../src/lib/zk/client.js';

/** Time virtual: timers run in order when a test advances the clock; promises settle in between. */
export class VirtualClock {
  now_ms = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; run: () => void }> = [];

  after(ms: number, run: () => void): () => void {
    const timer = { at: this.now_ms + Math.max(0, ms), seq: this.seq++, run };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  async advance(ms: number): Promise<void> {
    const end = this.now_ms + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now_ms = due.at;
      due.run();
    }
    this.now_ms = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** One way, client to server or back. */
const link_latency_ms = 1;

interface FakeServer {
  id: string;
  /** Its process's incarnation, new at each restart (as the real server's is). */
  incarnation: number;
  replica: ZkReplica;
  /** Crashed: hears nothing, answers nothing. */
  up: boolean;
  /** Up but without a leader: answers everything with ConnectionLoss 11. */
  serving: boolean;
  /** Which client each session is connected through, on this server. */
  clients: Map<string, string>;
  /** Sessions whose connection the server closed (resync): refused with ConnectionLoss until they connect again. */
  closed: Set<string>;
}

export class FakeEnsemble {
  readonly servers = new Map<string, FakeServer>();
  readonly tracker = new SessionTracker();
  /** Every request a server got, for tests that count them. */
  readonly received: Array<{ server: string; client: string; body: MessageBody }> = [];
  private readonly session_ids = new SessionIdSource(1);
  private counter = 0;
  private readonly cut = new Set<string>();
  private readonly subscribers = new Map<string, Set<(from: string, body: MessageBody) => void>>();
  private stop_ticking: (() => void) | null = null;
  /** The server that answers list_sessions; the others point at it. */
  leader_id: string;
  /** The server that last heard from each session. */
  private readonly relayed_by = new Map<string, string>();
  /** Runs once a server handled a request, before its reply leaves (a test crashes the server here to lose the reply). */
  before_reply: ((server: string, body: MessageBody) => void) | null = null;
  /** false: servers answer set_watches Unimplemented (as a server without it would); 'silent': they ignore it. */
  set_watches: boolean | 'silent' = true;

  constructor(
    readonly clock: VirtualClock,
    readonly ids: readonly string[] = ['z1', 'z2', 'z3'],
    readonly tick_ms = 100,
  ) {
    for (const id of ids) this.servers.set(id, { id, incarnation: 1, replica: new ZkReplica(new ZkTree()), up: true, serving: true, clients: new Map(), closed: new Set() });
    this.leader_id = ids[0]!;
    this.tick();
  }

  private tick(): void {
    this.stop_ticking = this.clock.after(this.tick_ms / 2, () => {
      for (const session of this.tracker.tick(this.clock.now_ms)) {
        const owners = [...this.servers.values()].filter((s) => s.clients.has(session)).map((s) => [s.id, s.clients.get(session)!] as const);
        this.commit({ type: 'expire_session', session, time: this.clock.now_ms });
        for (const [server, client] of owners) this.deliver(server, client, { type: 'session_expired', session });
      }
      this.tick();
    });
  }

  stop(): void {
    this.stop_ticking?.();
  }

  /** The transport a client with this id uses. */
  transport(client: string): ZkTransport {
    return {
      rpc: (server, body, timeout_ms) =>
        new Promise<MessageBody>((resolve, reject) => {
          let settled = false;
          const cancel = this.clock.after(timeout_ms, () => {
            if (settled) return;
            settled = true;
            reject(new Error(`${server} did not answer ${body.type} within ${timeout_ms}ms`));
          });
          if (this.cut.has(client)) return;
          this.clock.after(link_latency_ms, () => {
            const reply = this.handle(server, client, body);
            if (reply === null) return;
            this.before_reply?.(server, body);
            this.clock.after(link_latency_ms, () => {
              if (settled || this.cut.has(client) || !this.servers.get(server)?.up) return;
              settled = true;
              cancel();
              resolve(reply);
            });
          });
        }),
      onUnasked: (handler) => {
        const set = this.subscribers.get(client) ?? new Set();
        this.subscribers.set(client, set);
        set.add(handler);
        return () => set.delete(handler);
      },
      now: () => this.clock.now_ms,
      after: (ms, run) => this.clock.after(ms, run),
    };
  }

  crash(id: string): void {
    const server = this.servers.get(id)!;
    server.up = false;
  }

  /** Back up, with its tree but no watches and no connections (they were in memory). */
  restart(id: string): void {
    const server = this.servers.get(id)!;
    server.replica = ZkReplica.restore(server.replica.snapshot());
    server.clients.clear();
    server.incarnation += 1;
    server.up = true;
  }

  /** The server replaces its tree with a snapshot (a SNAP from its leader), as the real one does: its
   * watches are gone and it closes its clients' connections. */
  resync(id: string): void {
    const server = this.servers.get(id)!;
    server.replica = ZkReplica.restore(server.replica.snapshot());
    for (const session of server.clients.keys()) server.closed.add(session);
    server.clients.clear();
  }

  setServing(id: string, serving: boolean): void {
    this.servers.get(id)!.serving = serving;
  }

  cutOff(client: string): void {
    this.cut.add(client);
  }

  heal(client: string): void {
    this.cut.delete(client);
  }

  /** Any server's tree (they all apply the same txns). */
  tree(): ZkTree {
    return [...this.servers.values()][0]!.replica.tree;
  }

  private deliver(server: string, client: string, body: MessageBody): void {
    this.clock.after(link_latency_ms, () => {
      if (this.cut.has(client) || !this.servers.get(server)?.up) return;
      for (const handler of [...(this.subscribers.get(client) ?? [])]) handler(server, body);
    });
  }

  private commit(txn: ZkTxn) {
    const z = zxid(1, ++this.counter);
    let outcome = null;
    for (const server of this.servers.values()) {
      const applied = server.replica.apply({ zxid: z, txn });
      outcome = applied.outcome;
      if (!server.up) continue;
      for (const event of applied.events) {
        const client = server.clients.get(event.session);
        if (client !== undefined) this.deliver(server.id, client, { type: 'watch_event', session: event.session, path: event.path, event: event.type, zxid: formatZxid(event.zxid) });
      }
    }
    const o = outcome!;
    if (o.ok && (o.type === 'close_session' || o.type === 'expire_session')) {
      this.tracker.remove(o.session);
      for (const server of this.servers.values()) server.clients.delete(o.session);
    }
    return { zxid: z, outcome: o };
  }

  private handle(server_id: string, client: string, body: MessageBody): MessageBody | null {
    const server = this.servers.get(server_id);
    if (server === undefined || !server.up) return null;
    this.received.push({ server: server_id, client, body });
    const reply = (fields: Record<string, unknown>): MessageBody => ({ ...fields, type: String(fields.type), in_reply_to: body.msg_id });
    const error = (name: ZkErrorName, text: string, code = zk_error_table[name].code): MessageBody => reply({ type: 'error', code, text, zk_error: name });
    if (!server.serving) return error('ConnectionLoss', `${server_id} is not serving`, 11);
    const now = this.clock.now_ms;
    const session = typeof body.session === 'string' ? body.session : '';
    if (body.type === 'list_sessions') {
      if (server_id !== this.leader_id) return reply({ type: 'error', code: 11, text: `${server_id} is not the leader`, leader: this.leader_id });
      const sessions = server.replica.tree.sessionList().map((s) => ({ session: s.session, timeout_ms: s.timeout_ms, idle_ms: now - ((this.tracker.deadlineOf(s.session) ?? now) - s.timeout_ms), server: this.relayed_by.get(s.session) ?? null }));
      return reply({ type: 'list_sessions_ok', sessions });
    }
    if (session) this.relayed_by.set(session, server_id);
    if (body.type === 'connect') {
      const timeout_ms = negotiateSessionTimeout(Number(body.timeout_ms), this.tick_ms);
      if (session) {
        if (!server.replica.tree.hasSession(session) || !this.tracker.touch(session, now)) return error('SessionExpired', `session ${session} is not open`);
        // A new connection: this server forgets the session's old watches, the others forget the session.
        server.closed.delete(session);
        server.replica.watches.dropSession(session);
        for (const other of this.servers.values()) {
          if (other === server) continue;
          other.clients.delete(session);
          other.replica.watches.dropSession(session);
        }
        server.clients.set(session, client);
        return reply({ type: 'connect_ok', session, timeout_ms: server.replica.tree.sessionList().find((s) => s.session === session)!.timeout_ms, server: server_id, server_incarnation: server.incarnation, zxid: formatZxid(server.replica.applied_zxid) });
      }
      const id = this.session_ids.next();
      this.relayed_by.set(id, server_id);
      this.tracker.add(id, timeout_ms, now);
      this.commit({ type: 'create_session', session: id, timeout_ms, time: now });
      server.clients.set(id, client);
      return reply({ type: 'connect_ok', session: id, timeout_ms, server: server_id, server_incarnation: server.incarnation, zxid: formatZxid(server.replica.applied_zxid) });
    }
    if (!server.replica.tree.hasSession(session)) return error('SessionExpired', `session ${session} is not open`);
    if (server.closed.has(session)) return error('ConnectionLoss', `${server_id} closed the connection of ${session}`, 11);
    this.tracker.touch(session, now);
    server.clients.set(session, client);
    switch (body.type) {
      case 'ping':
        return reply({ type: 'ping_ok', session, server_incarnation: server.incarnation, zxid: formatZxid(server.replica.applied_zxid) });
      case 'close_session':
        this.commit({ type: 'close_session', session, time: now });
        return reply({ type: 'close_session_ok', session });
      case 'sync':
        return reply({ type: 'sync_ok', zxid: formatZxid(server.replica.applied_zxid) });
      case 'set_watches': {
        if (this.set_watches === 'silent') return null;
        if (!this.set_watches) return error('Unimplemented', 'set_watches is not served here');
        const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
        const r = server.replica.setWatches(session, parseZxid(body.relative_zxid)!, { data: list(body.data), exist: list(body.exist), child: list(body.child) });
        if (!r.ok) return error(r.error.name, r.error.text);
        for (const e of r.events) this.deliver(server_id, client, { type: 'watch_event', session, path: e.path, event: e.type, zxid: formatZxid(e.zxid) });
        return reply({ type: 'set_watches_ok', session, zxid: formatZxid(server.replica.applied_zxid), fired: r.events.length });
      }
      case 'create':
      case 'delete':
      case 'set_data': {
        const txn: ZkTxn =
          body.type === 'create'
            ? { type: 'create', session, path: String(body.path), data: String(body.data ?? ''), ephemeral: body.ephemeral === true, sequential: body.sequential === true, time: now }
            : body.type === 'delete'
              ? { type: 'delete', session, path: String(body.path), version: Number(body.version ?? -1), time: now }
              : { type: 'set_data', session, path: String(body.path), data: String(body.data ?? ''), version: Number(body.version ?? -1), time: now };
        const { outcome } = this.commit(txn);
        if (!outcome.ok) return error(outcome.error.name, outcome.error.text);
        if (outcome.type === 'create') return reply({ type: 'create_ok', path: outcome.path, stat: wireStat(outcome.stat) });
        if (outcome.type === 'delete') return reply({ type: 'delete_ok', path: outcome.path });
        if (outcome.type === 'set_data') return reply({ type: 'set_data_ok', stat: wireStat(outcome.stat) });
        return error('BadArguments', 'unexpected outcome');
      }
      case 'exists':
      case 'get_data':
      case 'get_children': {
        const read = { type: body.type, path: String(body.path), watch: body.watch === true } as ZkRead;
        const result = server.replica.read(session, read);
        if (!result.ok) return error(result.error.name, result.error.text);
        const value = result.value as { stat: TreeStat | null; data?: string; children?: string[] };
        return reply({ type: `${body.type}_ok`, ...value, stat: value.stat === null ? null : wireStat(value.stat) });
      }
      default:
        return error('Unimplemented', `unsupported ${body.type}`);
    }
  }
}

export function wireStat(stat: TreeStat): Record<string, unknown> {
  return { ...stat, czxid: formatZxid(stat.czxid), mzxid: formatZxid(stat.mzxid), pzxid: formatZxid(stat.pzxid) };
}
