import { InvariantError } from '../util/errors.js';
import { SimNetwork, type SimNetworkOptions } from './network.js';
import { SimLimitError, type Scheduler } from './scheduler.js';

/**
 * The simulator's runtime for a pure protocol core: it plays the part the
 * process runtime plays under `dslab up` (stdin, timers, disk, the process
 * itself), in virtual time. A system plugs in through a SimDriver, which says
 * how to build its core and how to read the core's Ready; the host knows no
 * system.
 *
 * The loop, for every input (a message, a due timer, an outside request such as
 * a client's, a finished storage write):
 *   1. driver.tick(core, now): time is now (due timers fire);
 *   2. the input itself;
 *   3. while driver.ready(core) returns a Ready: driver.persist (its durable
 *      writes land first), then its messages go to the network, then
 *      driver.handle (apply committed entries, answer clients, report state);
 *   4. the host re-arms the node's one timer at driver.nextTimerMs(core).
 *
 * A crash keeps only `durable` (what persist wrote) and drops the core, its
 * timer, queued inputs and unfinished storage writes. A pause holds every input
 * (up to a bound, like a pipe buffer) and replays them in order on resume.
 */

export type SimNodeStatus = 'up' | 'down' | 'paused';

export interface Outgoing<M> {
  to: string;
  body: M;
}

export interface CoreStart<D> {
  id: string;
  /** The other nodes. */
  peers: readonly string[];
  /** What this node persisted before (driver.emptyDurable on its first start). */
  durable: D;
  now_ms: number;
  /** The simulation's PRNG, uniform in [0, 1): the only randomness a core may use. */
  random: () => number;
}

/**
 * How the host drives one system's core. C is whatever lives in the node's
 * process (the core plus the driver's volatile per-node state, all lost on a
 * crash); M a message; R one Ready; D the durable state.
 */
export interface SimDriver<C, M, R, D> {
  /** The durable state of a node that has never run. */
  emptyDurable(id: string): D;
  /** Builds the node's process from its durable state, at first start and at every restart. */
  start(start: CoreStart<D>): C;
  /** Time is now; fires whatever timers are due. Called before every input. */
  tick(core: C, now_ms: number): void;
  step(core: C, from: string, message: M): void;
  /** The core's collected outputs, or null when it has none. */
  ready(core: C): R | null;
  /**
   * Makes the Ready's durable writes (node.durable), before any of its messages
   * leave. A core whose writes complete later (an fsync it waits for before
   * acknowledging) hands them to host.storeLater instead.
   */
  persist(node: SimNode<C, D>, ready: R): void;
  messages(ready: R): readonly Outgoing<M>[];
  /** The rest of the Ready: apply, answer clients, observe state for the checks. It may give the core more inputs (a compaction); the host drains those too. */
  handle(node: SimNode<C, D>, ready: R): void;
  /** When the core next wants a tick (Infinity: no timer). */
  nextTimerMs(core: C): number;
  /** A write handed to host.storeLater is on disk. */
  stored?(core: C, token: unknown): void;
}

export interface SimNode<C, D> {
  readonly id: string;
  readonly index: number;
  status: SimNodeStatus;
  /** The running process; null while down. */
  core: C | null;
  /** Survives crashes. */
  durable: D;
  /** Times started (1 after the first start). */
  starts: number;
  timerGen: number;
  timerAt: number;
  /** Inputs held while paused. */
  inbox: ((core: C) => void)[];
  /** Storage writes complete in order: the time the last one queued completes. */
  storageFreeAt: number;
}

/** Readys one input may cause before the host calls it a loop (a compaction adds one). */
export const readys_per_input_max = 16;
/** Inputs a paused node holds (a pipe buffer); beyond it they are dropped and counted. */
export const paused_inbox_inputs_max = 10_000;

export interface SimHostOptions {
  network: SimNetworkOptions;
  readys_per_input_max?: number;
  paused_inbox_inputs_max?: number;
}

export interface SimHostStats {
  starts: number;
  crashes: number;
  pauses: number;
  readys: number;
  /** Messages that arrived at a node that was down. */
  dropped_down: number;
  /** Inputs dropped because a paused node's inbox was full. */
  dropped_inbox_full: number;
  /** Storage writes lost because the node crashed before they completed. */
  writes_lost: number;
}

/** What became of an outside input. */
export type InputOutcome = 'handled' | 'held' | 'lost';

export class SimHost<C, M, R, D> {
  readonly nodes: SimNode<C, D>[];
  readonly network: SimNetwork<M>;
  readonly stats: SimHostStats = { starts: 0, crashes: 0, pauses: 0, readys: 0, dropped_down: 0, dropped_inbox_full: 0, writes_lost: 0 };
  private readonly byId = new Map<string, SimNode<C, D>>();
  private readonly peersOf = new Map<string, string[]>();
  private readonly readysMax: number;
  private readonly inboxMax: number;

  constructor(
    readonly scheduler: Scheduler,
    readonly nodeIds: readonly string[],
    private readonly driver: SimDriver<C, M, R, D>,
    options: SimHostOptions,
  ) {
    if (new Set(nodeIds).size !== nodeIds.length) throw new InvariantError('invariant broken: node ids repeat');
    this.readysMax = options.readys_per_input_max ?? readys_per_input_max;
    this.inboxMax = options.paused_inbox_inputs_max ?? paused_inbox_inputs_max;
    this.nodes = nodeIds.map((id, index) => ({
      id,
      index,
      status: 'down',
      core: null,
      durable: driver.emptyDurable(id),
      starts: 0,
      timerGen: 0,
      timerAt: Number.POSITIVE_INFINITY,
      inbox: [],
      storageFreeAt: 0,
    }));
    for (const node of this.nodes) {
      this.byId.set(node.id, node);
      this.peersOf.set(
        node.id,
        nodeIds.filter((p) => p !== node.id),
      );
    }
    this.network = new SimNetwork<M>(scheduler, nodeIds, options.network, (from, to, body) => this.deliver(from, to, body));
  }

  node(id: string): SimNode<C, D> {
    const node = this.byId.get(id);
    if (!node) throw new InvariantError(`invariant broken: unknown node ${id}`);
    return node;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  // ---- lifecycle (what kill, restart, pause and resume do) ----------------------------------------

  /** Starts a down node from its durable state; false if it is not down. */
  start(id: string): boolean {
    const node = this.node(id);
    if (node.status !== 'down') return false;
    const now = this.scheduler.now_ms;
    node.core = this.driver.start({ id, peers: this.peersOf.get(id)!, durable: node.durable, now_ms: now, random: this.scheduler.rng.next });
    node.status = 'up';
    node.starts++;
    node.timerAt = Number.POSITIVE_INFINITY;
    node.storageFreeAt = now;
    this.stats.starts++;
    this.drain(node);
    return true;
  }

  /** Kills an up or paused node: everything but its durable state is gone. False if already down. */
  crash(id: string): boolean {
    const node = this.node(id);
    if (node.status === 'down') return false;
    node.status = 'down';
    node.core = null;
    node.timerGen++;
    node.inbox.length = 0;
    this.stats.crashes++;
    return true;
  }

  /** Stops an up node from taking any input until resumed; false if it is not up. */
  pause(id: string): boolean {
    const node = this.node(id);
    if (node.status !== 'up') return false;
    node.status = 'paused';
    this.stats.pauses++;
    return true;
  }

  /** Resumes a paused node: its clock jumps to now, then it takes the inputs it held, in order. False if it is not paused. */
  resume(id: string): boolean {
    const node = this.node(id);
    if (node.status !== 'paused') return false;
    node.status = 'up';
    // Its timer may have come due while paused; make drain() arm it again.
    node.timerAt = Number.NaN;
    this.run(node, null);
    while (node.status === 'up' && node.inbox.length > 0) this.run(node, node.inbox.shift()!);
    return true;
  }

  // ---- inputs -------------------------------------------------------------------------------------

  /**
   * An input from outside the network (a client request): runs now on an up
   * node, is held until resume on a paused one (lost if its inbox is full),
   * and is lost on a down one.
   */
  input(id: string, fn: (core: C) => void): InputOutcome {
    const node = this.node(id);
    if (node.status === 'down') return 'lost';
    if (node.status === 'paused') return this.hold(node, fn) ? 'held' : 'lost';
    this.run(node, fn);
    return 'handled';
  }

  /**
   * A durable write that completes latency_ms from now (after earlier ones on
   * this node): then `write` changes node.durable and the core gets
   * driver.stored(token) as an input. A crash first loses it.
   */
  storeLater(node: SimNode<C, D>, latency_ms: number, write: () => void, token: unknown): void {
    const stored = this.driver.stored;
    if (!stored) throw new InvariantError('invariant broken: storeLater needs driver.stored');
    const starts = node.starts;
    const at = Math.max(this.scheduler.now_ms + latency_ms, node.storageFreeAt);
    node.storageFreeAt = at;
    this.scheduler.at(at, () => {
      if (node.starts !== starts || node.status === 'down') {
        this.stats.writes_lost++;
        return;
      }
      write();
      const notify = (core: C): void => stored.call(this.driver, core, token);
      if (node.status === 'paused') this.hold(node, notify);
      else this.run(node, notify);
    });
  }

  private deliver(from: string, to: string, body: M): void {
    const node = this.byId.get(to)!;
    if (node.status === 'up') {
      // The common case, without a closure per message.
      const core = node.core!;
      this.driver.tick(core, this.scheduler.now_ms);
      this.driver.step(core, from, body);
      this.drain(node);
    } else if (node.status === 'paused') {
      this.hold(node, (core) => this.driver.step(core, from, body));
    } else {
      this.stats.dropped_down++;
    }
  }

  private hold(node: SimNode<C, D>, fn: (core: C) => void): boolean {
    if (node.inbox.length >= this.inboxMax) {
      this.stats.dropped_inbox_full++;
      return false;
    }
    node.inbox.push(fn);
    return true;
  }

  private fireTimer(node: SimNode<C, D>, gen: number): void {
    // A paused node's timer waits for resume, which ticks it.
    if (node.status === 'up' && gen === node.timerGen) this.run(node, null);
  }

  /** One input: tick, the input, then every Ready it causes. */
  private run(node: SimNode<C, D>, fn: ((core: C) => void) | null): void {
    const core = node.core!;
    this.driver.tick(core, this.scheduler.now_ms);
    if (fn !== null) fn(core);
    this.drain(node);
  }

  private drain(node: SimNode<C, D>): void {
    const core = node.core!;
    const driver = this.driver;
    let rounds = 0;
    for (;;) {
      const ready = driver.ready(core);
      if (ready === null) break;
      if (++rounds > this.readysMax) throw new SimLimitError(`simulation limit: ${node.id} produced more than ${this.readysMax} Readys for one input`);
      this.stats.readys++;
      driver.persist(node, ready);
      for (const m of driver.messages(ready)) {
        if (!this.byId.has(m.to)) throw new InvariantError(`invariant broken: ${node.id} sent a message to unknown node ${m.to}`);
        this.network.send(node.id, m.to, m.body);
      }
      driver.handle(node, ready);
    }
    const at = driver.nextTimerMs(core);
    if (at !== node.timerAt) {
      node.timerAt = at;
      const gen = ++node.timerGen;
      if (Number.isFinite(at)) this.scheduler.at(Math.max(at, this.scheduler.now_ms + 1), () => this.fireTimer(node, gen));
    }
  }
}
