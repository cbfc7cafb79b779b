/**
 * dslab lab: locks. Starter code in TypeScript on dslab's node runtime.
 *
 * ONE program plays both parts the lab grades: dslab starts it as every
 * contender (k1..kN) and as the resource (r1), and it acts as the group
 * DSLAB_GROUP names ("contenders" or "resource"; init's dslab_groups says the
 * same). dslab's node runtime (loaded below from your dslab installation,
 * which `dslab lab init` filled in) does the message plumbing: node.on(type, handler),
 * node.onInit(cb), node.reply(request, body), node.replyError(request, code,
 * text), node.rpc(dest, body, timeout_ms) (rejects with RpcError on an error
 * reply or no reply), node.after(ms, cb), node.reportState({...}),
 * node.log(...), node.id, node.initBody, node.run(). The contender holds its
 * ZooKeeper session through dslab's own client (ZkClient: sessions, pings,
 * moving to another server, watches kept across the move).
 *
 *     dslab grade locks --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * Logs: node.log(...) writes to stderr (`dslab logs k1`). Never write to
 * stdout yourself: stdout is the network.
 *
 * The Redis and etcd tests run dslab's own contenders for those backends (the
 * first lines below hand the contender part over to it); in them, your program
 * is graded as the resource.
 *
 * TODO:
 *   1. acquire(): the ZooKeeper lock recipe. Create an ephemeral sequential
 *      child "lock-" of /dslab-lock holding your node id; read the children
 *      WITHOUT a watch; the lowest sequence number holds the lock; otherwise set
 *      an exists watch on the child just below your own only, and when it fires
 *      (or exists says it is gone already) read the children again: never take
 *      the lock on the event alone.
 *   2. mayWrite(): a holder whose session expired, or whose server has not
 *      answered for two thirds of the session timeout, must not write.
 *   3. release(): delete your node.
 *   4. Resource.stale(): fencing. With fencing on, a write is accepted only with
 *      a token greater than every token of an accepted write; a read or write
 *      below a token already seen is refused; no token, refused.
 *   Read README.md, next to this file, for the messages and the tests.
 */
const dist = '__DSLAB_DIST__';
const options = ((): Record<string, unknown> => {
  try {
    return JSON.parse(process.env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
})();
const group = process.env.DSLAB_GROUP ?? '';

/** The part of dslab's ZooKeeper client (dist/lib/zk/client.js) this program uses; its errors carry name_zk ("NodeExists", "NoNode", …). */
interface Session {
  readonly state: 'connected' | 'reconnecting' | 'expired' | 'closed';
  readonly timeout_ms: number;
  /** When the last reply from the session's server came (node.now()). */
  readonly last_ok_ms: number;
  create(path: string, data?: string, flags?: { ephemeral?: boolean; sequential?: boolean }): Promise<{ path: string }>;
  delete(path: string): Promise<void>;
  exists(path: string, watch?: boolean): Promise<object | null>;
  getChildren(path: string, watch?: boolean): Promise<string[]>;
  on(event: 'watch', handler: (e: { path: string; event: string }) => void): () => void;
  on(event: 'state', handler: (state: Session['state']) => void): () => void;
}
interface ZkClientModule {
  ZkClient: { connect(transport: unknown, servers: readonly string[], options: { timeout_ms: number }): Promise<Session> };
  nodeTransport(node: Node): unknown;
}
/** A message as the runtime hands it to a handler. */
interface Message {
  src: string;
  dest: string;
  body: Record<string, unknown> & { type: string };
}
/** The part of dslab's node runtime (dist/lib/runtime/node.js) this program uses. */
interface Node {
  readonly id: string;
  readonly initBody: Record<string, unknown> | null;
  on(type: string, handler: (message: Message) => void): void;
  onInit(callback: () => void): void;
  reply(request: Message, body: Record<string, unknown>): void;
  replyError(request: Message, code: number, text: string): void;
  /** Resolves with the reply body; rejects with RpcError (its code) on an error reply or no reply. */
  rpc(dest: string, body: Record<string, unknown>, timeout_ms: number): Promise<Record<string, unknown>>;
  after(ms: number, callback: () => void): () => void;
  now(): number;
  reportState(fields: Record<string, string | number | boolean | null>): void;
  log(...parts: unknown[]): void;
  run(): void;
}
interface RuntimeModule {
  Node: new () => Node;
  RpcError: new (code: number, text: string) => Error & { code: number };
}

// dslab's own contender runs the Redis and etcd recipes: this lab is about ZooKeeper's.
if (group === 'contenders' && (options.lock_backend ?? 'redis') !== 'zk') {
  void import(`${dist}/systems/locks/contender.js`).then((m: { runContender(): void }) => m.runContender());
} else {
  // Loaded the same way, so the runtime's classes are the ones the client checks against.
  void Promise.all([import(`${dist}/lib/runtime/node.js`), import(`${dist}/lib/zk/client.js`)]).then(([runtime, zk]: [RuntimeModule, ZkClientModule]) => main(runtime, zk));
}

function main({ Node, RpcError }: RuntimeModule, { ZkClient, nodeTransport }: ZkClientModule): void {

  const ttl_ms = typeof options.lock_ttl_ms === 'number' ? options.lock_ttl_ms : 2000;
  const hold_ms = typeof options.lock_hold_ms === 'number' ? options.lock_hold_ms : 50;
  const fencing = options.lock_fencing === true;
  const lock_path = '/dslab-lock';
  const child_prefix = 'lock-';
  const resource_timeout_ms = 5000;
  const failed_round_pause_ms = 200;
  const report_page_max = 2000;
  const observations_max = 200_000;
  const precondition_failed = 22;

  const node = new Node();
  const sleep = (ms: number) => new Promise<void>((resolve) => node.after(ms, resolve));
  const sequenceOf = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? Number.NaN);
  const zkError = (error: unknown) => (error as { name_zk?: string } | null)?.name_zk;

  // -------------------------------------------------------------------------
  // The resource (r1): the shared counter, and the fence.
  // -------------------------------------------------------------------------

  class Resource {
    counter = 0;
    /** The largest token of an accepted write. */
    max_token: number | null = null;
    /** The largest token of any accepted read or write. */
    max_seen: number | null = null;
    readonly observations: Record<string, unknown>[] = [];
    dropped = 0;

    /** Why a request with this token must be refused, or null to accept it (only asked when fencing is on). */
    stale(token: number | null, write: boolean): string | null {
      // TODO (4): refuse a write whose token is not greater than max_token, a request below max_seen, and one with no token.
      void token, write;
      return null;
    }

    handle(message: { src: string; body: Record<string, unknown> }, write: boolean): { ok: true } | { refused: string } {
      const body = message.body;
      const token = typeof body.token === 'number' ? body.token : null;
      const reason = fencing ? this.stale(token, write) : null;
      const value = write ? (body.value as number) : this.counter;
      const observation: Record<string, unknown> = { kind: write ? 'write' : 'read', node: message.src, round: body.round, incarnation: body.incarnation, token, at_ms: node.now(), value, acquired_ms: body.acquired_ms, ttl_ms: body.ttl_ms };
      if (write || reason) observation.accepted = reason === null;
      if (reason) observation.reason = reason;
      if (this.observations.length < observations_max) this.observations.push(observation);
      else this.dropped++;
      if (reason) return { refused: reason };
      if (token !== null) {
        this.max_seen = this.max_seen === null ? token : Math.max(this.max_seen, token);
        if (write) this.max_token = this.max_token === null ? token : Math.max(this.max_token, token);
      }
      if (write) this.counter = value;
      node.reportState({ role: 'resource', counter: this.counter, max_token: this.max_token });
      return { ok: true };
    }

    report(from: number): Record<string, unknown> {
      const page = this.observations.slice(from, from + report_page_max);
      const next = from + page.length < this.observations.length ? from + page.length : null;
      return { type: 'lock_report_ok', counter_place: 'resource', fencing, counter: this.counter, max_token: this.max_token, observations: page, dropped: this.dropped, total: this.observations.length, next };
    }
  }

  // -------------------------------------------------------------------------
  // A contender (k1..kN): rounds of acquire, read, work, write one more, release.
  // -------------------------------------------------------------------------

  class Contender {
    private session: Session | null = null;
    private rounds_left = 0;
    private round = 0;
    private running = false;
    private state = 'idle';
    private acked = 0;
    private readonly incarnation = Math.random().toString(16).slice(2, 10);

    constructor(
      private readonly servers: string[],
      private readonly resource: string,
    ) {}

    report(): void {
      node.reportState({ role: 'contender', lock_state: this.state, rounds_left: this.rounds_left, acked: this.acked });
    }

    private set(state: string): void {
      this.state = state;
      this.report();
    }

    run(rounds: number): void {
      this.rounds_left += rounds;
      this.report();
      if (!this.running) void this.loop();
    }

    private async loop(): Promise<void> {
      this.running = true;
      while (this.rounds_left > 0) {
        this.rounds_left--;
        this.round++;
        const ok = await this.section().then(
          () => true,
          (error: unknown) => {
            node.log(`round ${this.round} failed: ${error instanceof Error ? error.message : String(error)}`);
            return false;
          },
        );
        this.set('idle');
        if (!ok) await sleep(failed_round_pause_ms);
      }
      this.running = false;
      this.report();
    }

    /** The session, a new one when the last expired (a contender goes on as a new client). */
    private async live(): Promise<Session> {
      if (!this.session || this.session.state === 'expired' || this.session.state === 'closed') {
        this.session = await ZkClient.connect(nodeTransport(node), this.servers, { timeout_ms: ttl_ms });
      }
      return this.session;
    }

    private async section(): Promise<void> {
      this.set('waiting');
      const session = await this.live();
      const { path, token } = await this.acquire(session);
      const fields = { round: this.round, incarnation: this.incarnation, token, acquired_ms: node.now(), ttl_ms: session.timeout_ms };
      this.set('holding');
      try {
        const read = await node.rpc(this.resource, { type: 'res_read', ...fields }, resource_timeout_ms);
        await sleep(hold_ms);
        if (!this.mayWrite(session)) {
          node.log('stopped before writing: the session can no longer be trusted');
          return;
        }
        this.set('writing');
        try {
          await node.rpc(this.resource, { type: 'res_write', ...fields, value: Number(read.value) + 1 }, resource_timeout_ms);
          this.acked++;
        } catch (error) {
          if (error instanceof RpcError && error.code === precondition_failed) node.log(`write rejected: ${error.message}`);
          else throw error;
        }
      } finally {
        this.set('releasing');
        await this.release(session, path).catch((error: unknown) => node.log(`release failed: ${String(error)}`));
      }
    }

    /** Takes the lock: your node's path and its sequence number (the fencing token). */
    private async acquire(session: Session): Promise<{ path: string; token: number }> {
      // TODO (1): the ZooKeeper lock recipe (see the top of this file and the README).
      void session, sequenceOf, zkError;
      throw new Error('acquire is not written yet');
    }

    /** Whether the holder may still trust its lock before it writes. */
    private mayWrite(session: Session): boolean {
      // TODO (2): not once the session expired, or its server has been silent for 2/3 of the timeout.
      void session;
      return true;
    }

    /** Gives the lock up. */
    private async release(session: Session, path: string): Promise<void> {
      // TODO (3): delete your lock node.
      void session, path;
    }
  }

  // -------------------------------------------------------------------------
  // Wiring: the part this process plays.
  // -------------------------------------------------------------------------

  let resource: Resource | null = null;
  let contender: Contender | null = null;
  node.onInit(() => {
    const groups = (node.initBody?.dslab_groups ?? {}) as Record<string, string[]>;
    if (group === 'resource') {
      resource = new Resource();
      node.reportState({ role: 'resource', counter: 0, max_token: null });
    }
    else {
      contender = new Contender(groups.coordinator ?? [], groups.resource?.[0] ?? 'r1');
      contender.report();
    }
  });
  node.on('res_read', (message) => {
    const result = resource!.handle(message, false);
    if ('refused' in result) node.replyError(message, precondition_failed, result.refused);
    else node.reply(message, { type: 'res_read_ok', value: resource!.counter });
  });
  node.on('res_write', (message) => {
    if (!Number.isSafeInteger(message.body.value)) return node.replyError(message, 12, 'value must be an integer');
    const result = resource!.handle(message, true);
    if ('refused' in result) node.replyError(message, precondition_failed, result.refused);
    else node.reply(message, { type: 'res_write_ok' });
  });
  node.on('lock_report', (message) => node.reply(message, resource!.report(Number(message.body.from ?? 0))));
  node.on('lock_run', (message) => {
    const rounds = message.body.rounds;
    if (!Number.isSafeInteger(rounds) || (rounds as number) < 1) return node.replyError(message, 12, 'rounds must be a positive integer');
    contender!.run(rounds as number);
    node.reply(message, { type: 'lock_run_ok' });
  });
  node.run();
}
