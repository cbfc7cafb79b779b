// A small pure core for testing the generic simulator host: every period_ms it bumps a counter,
// persists it and tells its peers; it answers pings; with async storage it waits for its write to be
// on disk before announcing it. Nothing in it is Raft.

import { SimHost, type CoreStart, type Outgoing, type SimDriver, type SimHostOptions, type SimNode } from '../../src/lib/sim/host.js';
import { Scheduler } from '../../src/lib/sim/scheduler.js';

export type ToyMessage = { type: 'beat'; n: number } | { type: 'ping'; n: number } | { type: 'pong'; n: number } | { type: 'stored'; n: number };

export interface ToyDurable {
  count: number;
}

export interface ToyCore {
  id: string;
  peers: readonly string[];
  count: number;
  now_ms: number;
  next_beat_ms: number;
  received: { from: string; body: ToyMessage; at: number }[];
  stored: number[];
  out: Outgoing<ToyMessage>[];
  dirty: boolean;
  /** A planted runaway: always has a Ready. */
  runaway: boolean;
  /** Where beat messages go (a planted bug can point it at a node that does not exist). */
  beat_to: (peers: readonly string[]) => readonly string[];
}

export interface ToyReady {
  count: number | null;
  messages: Outgoing<ToyMessage>[];
}

export interface ToyOptions {
  period_ms: number;
  /** 0: persist inside the Ready loop; more: storage completes this much later (host.storeLater). */
  storage_latency_ms: number;
  /** The first beat comes at start + random * this (a core's only randomness). */
  start_jitter_ms: number;
}

export class ToyDriver implements SimDriver<ToyCore, ToyMessage, ToyReady, ToyDurable> {
  /** What the host asked the driver to do, in order. */
  readonly log: string[] = [];
  host!: SimHost<ToyCore, ToyMessage, ToyReady, ToyDurable>;
  runaway = false;
  beat_to: (peers: readonly string[]) => readonly string[] = (peers) => peers;

  constructor(readonly options: ToyOptions) {}

  emptyDurable(): ToyDurable {
    return { count: 0 };
  }

  start(start: CoreStart<ToyDurable>): ToyCore {
    this.log.push(`${start.now_ms} ${start.id} start count=${start.durable.count}`);
    return {
      id: start.id,
      peers: start.peers,
      count: start.durable.count,
      now_ms: start.now_ms,
      next_beat_ms: start.now_ms + this.options.period_ms + Math.floor(start.random() * this.options.start_jitter_ms),
      received: [],
      stored: [],
      out: [],
      dirty: false,
      runaway: this.runaway,
      beat_to: this.beat_to,
    };
  }

  tick(core: ToyCore, now_ms: number): void {
    this.log.push(`${now_ms} ${core.id} tick`);
    core.now_ms = now_ms;
    if (now_ms >= core.next_beat_ms) {
      core.next_beat_ms = now_ms + this.options.period_ms;
      core.count++;
      core.dirty = true;
      // With async storage the beat waits for the write (sent from stored()).
      if (this.options.storage_latency_ms === 0) for (const to of core.beat_to(core.peers)) core.out.push({ to, body: { type: 'beat', n: core.count } });
    }
  }

  step(core: ToyCore, from: string, body: ToyMessage): void {
    this.log.push(`${core.now_ms} ${core.id} step ${from} ${body.type} ${body.n}`);
    core.received.push({ from, body, at: core.now_ms });
    if (body.type === 'ping') core.out.push({ to: from, body: { type: 'pong', n: body.n } });
  }

  ready(core: ToyCore): ToyReady | null {
    if (!core.dirty && core.out.length === 0 && !core.runaway) return null;
    const ready = { count: core.dirty ? core.count : null, messages: core.out };
    core.dirty = false;
    core.out = [];
    return ready;
  }

  persist(node: SimNode<ToyCore, ToyDurable>, ready: ToyReady): void {
    this.log.push(`${this.host.scheduler.now_ms} ${node.id} persist ${ready.count}`);
    const count = ready.count;
    if (count === null) return;
    if (this.options.storage_latency_ms === 0) node.durable.count = count;
    else
      this.host.storeLater(
        node,
        this.options.storage_latency_ms,
        () => {
          node.durable.count = count;
        },
        count,
      );
  }

  messages(ready: ToyReady): readonly Outgoing<ToyMessage>[] {
    this.log.push(`${this.host.scheduler.now_ms} messages ${ready.messages.map((m) => `${m.body.type}${m.body.n}>${m.to}`).join(',')}`);
    return ready.messages;
  }

  handle(node: SimNode<ToyCore, ToyDurable>): void {
    this.log.push(`${this.host.scheduler.now_ms} ${node.id} handle`);
  }

  nextTimerMs(core: ToyCore): number {
    return core.next_beat_ms;
  }

  stored(core: ToyCore, token: unknown): void {
    this.log.push(`${core.now_ms} ${core.id} stored ${String(token)}`);
    core.stored.push(token as number);
    for (const to of core.peers) core.out.push({ to, body: { type: 'stored', n: token as number } });
  }
}

export function toyCluster(
  seed: number,
  options: Partial<ToyOptions> = {},
  host: Partial<SimHostOptions> = {},
  ids: readonly string[] = ['n1', 'n2', 'n3'],
) {
  const scheduler = new Scheduler(seed);
  const driver = new ToyDriver({ period_ms: 10, storage_latency_ms: 0, start_jitter_ms: 0, ...options });
  const cluster = new SimHost(scheduler, ids, driver, { network: { latency_ms_min: 1, latency_ms_max: 1 }, ...host });
  driver.host = cluster;
  return { scheduler, driver, host: cluster };
}
