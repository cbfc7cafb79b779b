// The shared simulation base (src/lib/sim/cluster-sim.ts) with a third, tiny system plugged in: a
// max register whose nodes gossip the largest value they hold. The system supplies only its model
// (the core, how to persist and apply a Ready, what a client sends) and its invariants; the faults,
// the clients' timeouts, the heal, convergence and seed replay come from the base.

import { describe, expect, it } from 'vitest';
import { nemesisSchedule } from '../../src/lib/faults/nemesis.js';
import {
  ClusterSimFailure,
  ClusterSimulation,
  drawNemesisSchedule,
  fault_free_overrides,
  type ClusterSimConfig,
  type ClusterSimStats,
  type SimClient,
  type SimCore,
} from '../../src/lib/sim/cluster-sim.js';
import type { CoreStart, Outgoing, SimNode } from '../../src/lib/sim/host.js';
import { createRng, draws } from '../../src/lib/util/prng.js';

interface MaxMessage {
  value: number;
}

interface MaxReady {
  /** The value to persist, when it changed. */
  value: number | null;
  messages: Outgoing<MaxMessage>[];
}

class MaxInvariantError extends Error {}

/** What a test plants in every node's core. */
interface MaxBugs {
  /** Gossip is ignored: nodes that took different writes never agree. */
  deaf?: boolean;
  /** Taking this value breaks the core's own invariant (or throws a plain error). */
  throw_on?: { value: number; invariant: boolean };
}

class MaxCore implements SimCore<MaxMessage, MaxReady> {
  private out: Outgoing<MaxMessage>[] = [];
  private dirty = false;
  private next_gossip_ms: number;

  constructor(
    private readonly peers: readonly string[],
    public value: number,
    now_ms: number,
    private readonly gossip_ms: number,
    private readonly bugs: MaxBugs,
  ) {
    this.next_gossip_ms = now_ms + gossip_ms;
  }

  tick(now_ms: number): void {
    if (now_ms < this.next_gossip_ms) return;
    this.next_gossip_ms = now_ms + this.gossip_ms;
    for (const to of this.peers) this.out.push({ to, body: { value: this.value } });
  }

  step(_from: string, message: MaxMessage): void {
    if (!this.bugs.deaf) this.take(message.value);
  }

  take(value: number): void {
    const t = this.bugs.throw_on;
    if (t !== undefined && value === t.value) throw t.invariant ? new MaxInvariantError(`took ${value}`) : new Error(`took ${value}`);
    if (value <= this.value) return;
    this.value = value;
    this.dirty = true;
  }

  hasReady(): boolean {
    return this.dirty || this.out.length > 0;
  }

  ready(): MaxReady {
    const rd = { value: this.dirty ? this.value : null, messages: this.out };
    this.dirty = false;
    this.out = [];
    return rd;
  }

  nextTimerMs(): number {
    return this.next_gossip_ms;
  }
}

interface MaxConfig extends ClusterSimConfig {
  node_count: number;
  gossip_ms: number;
  bugs: MaxBugs;
  /** The system's own aimed fault (it only counts itself), and whether it keeps coming beside a `dslab nemesis` schedule. */
  nudges: boolean;
  nudges_beside_nemesis_schedule: boolean;
}

interface MaxProcess {
  core: MaxCore;
  /** Writes this node took from clients, answered once on disk: value -> client index. */
  pending: Map<number, number>;
}

interface MaxOp {
  seq: number;
  value: number;
}

interface MaxStats extends ClusterSimStats {
  writes_acked: number;
  writes_indeterminate: number;
  nudges: number;
}

class MaxSimFailure extends ClusterSimFailure {
  constructor(seed: number, kind: string, detail: string) {
    super('max', seed, kind, detail);
  }
}

interface MaxSim {
  config: MaxConfig;
  message: MaxMessage;
  ready: MaxReady;
  process: MaxProcess;
  durable: number;
  stats: MaxStats;
  op: MaxOp;
  client: SimClient<MaxOp>;
  failure: MaxSimFailure;
  result: { stats: MaxStats; acked: number[]; final: number };
}

class MaxSimulation extends ClusterSimulation<MaxSim> {
  override readonly stats: MaxStats = {
    events: 0,
    messages_sent: 0,
    messages_lost: 0,
    messages_duplicated: 0,
    messages_partitioned: 0,
    crashes: 0,
    restarts: 0,
    partitions: 0,
    pauses: 0,
    nemesis_steps: 0,
    nemesis_refused: 0,
    end_ms: 0,
    writes_acked: 0,
    writes_indeterminate: 0,
    nudges: 0,
  };
  private readonly acked: number[] = [];
  private next_value = 0;

  constructor(config: MaxConfig) {
    super(config, {
      node_ids: Array.from({ length: config.node_count }, (_, i) => `n${i + 1}`),
      converge_subject: 'the registers',
      crash_weight: 1,
      aimed_faults_beside_nemesis_schedule: config.nudges_beside_nemesis_schedule,
      core_invariant_error: MaxInvariantError,
    });
  }

  // The model.
  emptyDurable(): number {
    return 0;
  }
  start(start: CoreStart<number>): MaxProcess {
    return { core: new MaxCore(start.peers, start.durable, start.now_ms, this.config.gossip_ms, this.config.bugs), pending: new Map() };
  }
  persist(n: SimNode<MaxProcess, number>, rd: MaxReady): void {
    if (rd.value === null) return;
    // The invariant: what a node keeps only grows.
    if (rd.value < n.durable) throw this.failure('persistence', `${n.id} persisted ${rd.value} over ${n.durable}`);
    n.durable = rd.value;
  }
  handle(n: SimNode<MaxProcess, number>): void {
    const p = n.core!;
    for (const [value, client] of p.pending) {
      if (value > n.durable) continue;
      p.pending.delete(value);
      const c = this.clients[client]!;
      if (c.current?.value === value && this.complete(c, c.current.seq) !== null) {
        this.stats.writes_acked++;
        this.acked.push(value);
      }
    }
  }
  protected override newClient(base: SimClient<MaxOp>): SimClient<MaxOp> {
    return base;
  }
  protected override invoke(c: SimClient<MaxOp>): MaxOp {
    return { seq: c.seq, value: ++this.next_value };
  }
  protected override clientAttempt(c: SimClient<MaxOp>): void {
    const op = c.current!;
    c.attempt++;
    const attempt = c.attempt;
    this.host.input(this.rng.pick(this.nodes).id, (p) => {
      p.pending.set(op.value, c.index);
      p.core.take(op.value);
    });
    this.scheduler.after(this.config.client_attempt_timeout_ms, () => {
      if (c.current === op && c.attempt === attempt) this.clientAttempt(c);
    });
  }
  protected override gaveUp(): void {
    this.stats.writes_indeterminate++;
  }
  protected override leader(): string | null {
    return null;
  }
  protected override systemFaults(): Record<string, () => void> {
    return this.config.nudges ? { nudge: () => this.stats.nudges++ } : {};
  }
  protected override reportsLeader(): boolean {
    return false;
  }

  // The invariants at the end.
  protected override isConverged(): boolean {
    return this.nodes.every((n) => n.status === 'up' && n.core!.core.value === this.nodes[0]!.core!.core.value);
  }
  protected override finalChecks(): void {
    const final = this.nodes[0]!.core!.core.value;
    for (const v of this.acked) if (v > final) throw this.failure('lost write', `${v} was acknowledged, the registers agree on ${final}`);
  }
  protected override describeNodes(): string {
    return this.nodes.map((n) => `${n.id}: ${n.core === null ? 'down' : n.core.core.value}`).join('; ');
  }
  protected override newFailure(kind: string, detail: string): MaxSimFailure {
    return new MaxSimFailure(this.config.seed, kind, detail);
  }
  protected override result(): MaxSim['result'] {
    return { stats: this.stats, acked: this.acked, final: this.nodes[0]!.core!.core.value };
  }
}

function maxConfig(seed: number, bugs: MaxBugs = {}): MaxConfig {
  const r = draws(createRng(seed));
  const config: MaxConfig = {
    seed,
    node_count: 3,
    gossip_ms: 15,
    bugs,
    nudges: false,
    nudges_beside_nemesis_schedule: false,
    fault_phase_ms: 1500,
    settle_ms: 400,
    converge_ms_max: 2000,
    message_delay_ms_min: 1,
    message_delay_ms_max: 10,
    message_loss_rate: 0.1,
    message_duplicate_rate: 0.1,
    nemesis_interval_ms_min: 20,
    nemesis_interval_ms_max: 200,
    partitions: true,
    crashes: true,
    pauses: true,
    crash_down_ms_min: 20,
    crash_down_ms_max: 300,
    pause_ms_min: 20,
    pause_ms_max: 300,
    nemesis_schedule: null,
    client_count: 2,
    client_think_ms_max: 20,
    client_attempt_timeout_ms: 60,
    client_op_timeout_ms: 300,
    serialize: false,
  };
  drawNemesisSchedule(config, r, 100, 300);
  return config;
}

const run = (config: MaxConfig): MaxSim['result'] => new MaxSimulation(config).run();

function failureOf(config: MaxConfig): ClusterSimFailure {
  try {
    run(config);
  } catch (err) {
    if (err instanceof ClusterSimFailure) return err;
    throw err;
  }
  throw new Error(`seed ${config.seed} passed`);
}

const seeds = Array.from({ length: 40 }, (_, i) => i + 1);

describe('a third system on the shared simulation base', () => {
  it('runs under the aimed faults, heals and restarts everything, and ends agreed with every acknowledged write', () => {
    const totals = { crashes: 0, restarts: 0, partitions: 0, pauses: 0, writes_acked: 0, writes_indeterminate: 0, messages_lost: 0 };
    for (const seed of seeds.filter((s) => maxConfig(s).nemesis_schedule === null)) {
      const r = run(maxConfig(seed));
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
      expect(Math.max(...r.acked)).toBeLessThanOrEqual(r.final);
      // Clients stopped halfway through the settle time; the run ended once the registers agreed.
      expect(r.stats.end_ms).toBeGreaterThanOrEqual(1500 + 400);
    }
    expect(totals.crashes).toBeGreaterThan(10);
    // Every crashed node came back (by its own restart or by the heal at the end of the fault phase).
    expect(totals.restarts).toBe(totals.crashes);
    expect(totals.partitions).toBeGreaterThan(10);
    expect(totals.pauses).toBeGreaterThan(10);
    expect(totals.messages_lost).toBeGreaterThan(0);
    expect(totals.writes_acked).toBeGreaterThan(100);
    expect(totals.writes_indeterminate).toBeGreaterThan(0);
  });

  it('runs exactly the `dslab nemesis` schedule when the config draws one, and nothing else', () => {
    const nemesis_seeds = seeds.filter((s) => maxConfig(s).nemesis_schedule !== null);
    expect(nemesis_seeds.length).toBeGreaterThan(3);
    for (const seed of nemesis_seeds) {
      const config = maxConfig(seed);
      expect(config.crashes || config.partitions || config.pauses || config.message_loss_rate > 0).toBe(false);
      const steps = nemesisSchedule(seed, ['n1', 'n2', 'n3'], config.nemesis_schedule!.interval_ms, config.fault_phase_ms - 1);
      const r = run(config);
      expect(r.stats.nemesis_steps).toBe(steps.length);
      expect(r.stats.nemesis_refused).toBe(0);
      expect(r.stats.crashes).toBe(steps.filter((s) => s.apply?.type === 'kill').length);
      expect(r.stats.pauses).toBe(steps.filter((s) => s.apply?.type === 'pause').length);
    }
  });

  it("draws the system's own aimed faults beside the generic ones, and beside a nemesis schedule only when the system asks", () => {
    const aimed = seeds.find((s) => maxConfig(s).nemesis_schedule === null)!;
    const nemesis = seeds.find((s) => maxConfig(s).nemesis_schedule !== null)!;
    expect(run(maxConfig(aimed)).stats.nudges).toBe(0);
    expect(run({ ...maxConfig(aimed), nudges: true }).stats.nudges).toBeGreaterThan(0);
    expect(run({ ...maxConfig(nemesis), nudges: true }).stats.nudges).toBe(0);
    expect(run({ ...maxConfig(nemesis), nudges: true, nudges_beside_nemesis_schedule: true }).stats.nudges).toBeGreaterThan(0);
  });

  it('without faults nothing is lost: every write is acknowledged', () => {
    const r = run({ ...maxConfig(3), ...fault_free_overrides });
    expect(r.stats.crashes + r.stats.partitions + r.stats.pauses + r.stats.messages_lost).toBe(0);
    expect(r.stats.writes_indeterminate).toBe(0);
    expect(r.stats.writes_acked).toBeGreaterThan(20);
    expect(r.final).toBe(Math.max(...r.acked));
  });

  it('replays a seed exactly, and another seed is another run', () => {
    const a = run(maxConfig(5));
    expect(run(maxConfig(5))).toEqual(a);
    expect(run(maxConfig(6)).stats).not.toEqual(a.stats);
  });

  it('names the seed, the subject and each node when the nodes never converge (a planted bug: gossip ignored)', () => {
    const failure = failureOf(maxConfig(2, { deaf: true }));
    expect(failure).toBeInstanceOf(MaxSimFailure);
    expect(failure.name).toBe('MaxSimFailure');
    expect(failure.kind).toBe('liveness');
    expect(failure.message).toMatch(/^max simulation seed 2 failed \(liveness\): the registers did not converge within 2000ms after settling: n1: \d+; n2: \d+; n3: \d+ \[t=\d+ms, event \d+\]$/);
  });

  it("tells the core's own invariant breaking from any other exception", () => {
    expect(failureOf(maxConfig(1, { throw_on: { value: 4, invariant: true } })).kind).toBe('core invariant');
    const other = failureOf(maxConfig(1, { throw_on: { value: 4, invariant: false } }));
    expect(other.kind).toBe('exception');
    expect(other.message).toContain('took 4');
  });
});
