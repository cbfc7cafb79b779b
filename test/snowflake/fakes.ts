// Fakes for the snowflake worker's tests: a runtime on a manual clock and a
// coordinator that keeps znodes and sessions in memory, with the error names
// the shared ZooKeeper client throws.
import type { Envelope } from '../../src/lib/protocol/messages.js';
import type { WorkerRuntime } from '../../src/systems/snowflake/host.js';
import type { CoordinatorSession } from '../../src/systems/snowflake/numbers.js';

export class ManualClock {
  mono_ms = 1_000;
  private timers: { at: number; run: () => void; id: number; every?: number }[] = [];
  private next_id = 1;

  after(ms: number, run: () => void): () => void {
    const id = this.next_id++;
    this.timers.push({ at: this.mono_ms + ms, run, id });
    return () => (this.timers = this.timers.filter((t) => t.id !== id));
  }

  every(ms: number, run: () => void): () => void {
    const id = this.next_id++;
    this.timers.push({ at: this.mono_ms + ms, run, id, every: ms });
    return () => (this.timers = this.timers.filter((t) => t.id !== id));
  }

  /** Moves time on, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.mono_ms + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.mono_ms = Math.max(this.mono_ms, due.at);
      if (due.every) due.at += due.every;
      else this.timers = this.timers.filter((t) => t !== due);
      due.run();
    }
    this.mono_ms = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export interface Reply {
  to: number;
  body: Record<string, unknown>;
}

/** A worker's runtime: wall clock = epoch-ish base + mono + skew. */
export class FakeRuntime implements WorkerRuntime {
  replies: Reply[] = [];
  reports: Record<string, unknown> = {};
  logs: string[] = [];
  skew_ms = 0;
  private msg_id = 1;

  constructor(
    readonly id: string,
    readonly clock: ManualClock,
    readonly wall_base_ms: number,
  ) {}

  now(): number {
    return this.wall_base_ms + this.clock.mono_ms + this.skew_ms;
  }
  mono(): number {
    return this.clock.mono_ms;
  }
  clockOffset(): number {
    return this.skew_ms;
  }
  reply(request: Envelope, body: { type: string }): void {
    this.replies.push({ to: request.body.msg_id!, body });
  }
  replyError(request: Envelope, code: number, text: string): void {
    this.replies.push({ to: request.body.msg_id!, body: { type: 'error', code, text } });
  }
  after(ms: number, run: () => void): () => void {
    return this.clock.after(ms, run);
  }
  every(ms: number, run: () => void): () => void {
    return this.clock.every(ms, run);
  }
  reportState(fields: Record<string, string | number | boolean | null>): void {
    Object.assign(this.reports, fields);
  }
  log(...parts: unknown[]): void {
    this.logs.push(parts.map(String).join(' '));
  }
  /** A generate request (with count when given); returns its msg_id. */
  request(count?: number): Envelope {
    const body: Envelope['body'] = { type: 'generate', msg_id: this.msg_id++ };
    if (count !== undefined) body.count = count;
    return { src: 'c1', dest: this.id, body };
  }
  replyTo(request: Envelope): Record<string, unknown> | undefined {
    return this.replies.find((r) => r.to === request.body.msg_id)?.body;
  }
}

class ZkError extends Error {
  constructor(readonly name_zk: string) {
    super(name_zk);
  }
}

interface Znode {
  data: string;
  owner: string | null;
}

/** The coordinator: a flat map of znodes, sessions that expire when told, and ephemerals that go with them. */
export class FakeCoordinator {
  readonly znodes = new Map<string, Znode>();
  readonly sessions = new Map<string, FakeSession>();
  private next = 1;
  /** While true, connect() waits (a coordinator without a leader). */
  unavailable = false;

  constructor(readonly clock: ManualClock) {}

  async connect(timeout_ms: number): Promise<FakeSession> {
    while (this.unavailable) await this.clock_wait();
    const session = new FakeSession(this, `0x${this.next++}`, timeout_ms);
    this.sessions.set(session.session, session);
    return session;
  }

  private clock_wait(): Promise<void> {
    return new Promise((resolve) => this.clock.after(50, resolve));
  }

  expire(id: string): void {
    const session = this.sessions.get(id)!;
    for (const [path, node] of [...this.znodes]) if (node.owner === id) this.znodes.delete(path);
    session.setState('expired');
  }

  children(path: string): string[] {
    const prefix = `${path}/`;
    return [...this.znodes.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length)).sort();
  }

  holderOf(path: string): string | undefined {
    return this.znodes.get(path)?.data;
  }
}

export class FakeSession implements CoordinatorSession {
  state: CoordinatorSession['state'] = 'connected';
  last_ok_ms: number;
  private handlers: ((state: CoordinatorSession['state']) => void)[] = [];

  constructor(
    private readonly zk: FakeCoordinator,
    readonly session: string,
    readonly timeout_ms: number,
  ) {
    this.last_ok_ms = zk.clock.mono_ms;
  }

  setState(state: CoordinatorSession['state']): void {
    this.state = state;
    for (const h of this.handlers) h(state);
  }

  private ok(): void {
    if (this.state !== 'connected') throw new ZkError(this.state === 'expired' ? 'SessionExpired' : 'ConnectionLoss');
    this.last_ok_ms = this.zk.clock.mono_ms;
  }

  async create(path: string, data = '', flags: { ephemeral?: boolean } = {}): Promise<{ path: string }> {
    this.ok();
    if (this.zk.znodes.has(path)) throw new ZkError('NodeExists');
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (parent && !this.zk.znodes.has(parent)) throw new ZkError('NoNode');
    this.zk.znodes.set(path, { data, owner: flags.ephemeral ? this.session : null });
    return { path };
  }
  async getChildren(path: string): Promise<string[]> {
    this.ok();
    if (!this.zk.znodes.has(path)) throw new ZkError('NoNode');
    return this.zk.children(path);
  }
  async getData(path: string): Promise<{ data: string }> {
    this.ok();
    const node = this.zk.znodes.get(path);
    if (!node) throw new ZkError('NoNode');
    return { data: node.data };
  }
  async setData(path: string, data: string): Promise<unknown> {
    this.ok();
    const node = this.zk.znodes.get(path);
    if (!node) throw new ZkError('NoNode');
    node.data = data;
    return {};
  }
  async close(): Promise<void> {
    for (const [path, node] of [...this.zk.znodes]) if (node.owner === this.session) this.zk.znodes.delete(path);
    this.state = 'closed';
  }
  on(_event: 'state', handler: (state: CoordinatorSession['state']) => void): () => void {
    this.handlers.push(handler);
    return () => (this.handlers = this.handlers.filter((h) => h !== handler));
  }
}
