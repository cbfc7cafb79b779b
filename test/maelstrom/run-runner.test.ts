import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction, LinkStatus, NewClusterEvent } from '../../src/lib/control/api.js';
import type { MessageBody } from '../../src/lib/protocol/messages.js';
import { rangeClientId } from '../../src/lib/supervisor/client-ids.js';
import { IndefiniteError } from '../../src/lib/util/errors.js';
import type { MaelstromWorkload, TestFault } from '../../src/maelstrom/options.js';
import { partition_specs } from '../../src/maelstrom/partitions.js';
import { MaelstromRun, type RunHost, type RunSettings } from '../../src/maelstrom/run/run.js';
import { judgeRun } from '../../src/maelstrom/run/verdict.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-run-runner-');

/** One request the fake cluster saw: who sent what to whom, and when it began and settled (a sequence shared with actions). */
interface SeenRequest {
  client: string;
  node: string;
  body: MessageBody;
  start: number;
  settled: number | null;
  indefinite: boolean;
}
interface SeenAction {
  action: ControlAction;
  source: string | undefined;
  at: number;
}

interface FakeBehaviour {
  /** Whether the request numbered `index` (from 0, in sending order) gets no answer (an IndefiniteError). */
  indefinite?: (index: number, body: MessageBody) => boolean;
  /** A set element the nodes acknowledge and then forget. */
  forget?: (element: unknown) => boolean;
  /** A counter node that counts each add twice. */
  double_adds?: boolean;
  /** A unique-ids node that hands out this id every time. */
  constant_id?: unknown;
  links?: LinkStatus[];
}

/**
 * A cluster with no processes: the nodes are one shared in-memory state that answers each workload's
 * requests after a short delay, and records every request and fault action in one sequence.
 */
class FakeCluster implements RunHost {
  readonly requests: SeenRequest[] = [];
  readonly actions: SeenAction[] = [];
  readonly emitted: NewClusterEvent[] = [];
  private readonly listeners = new Set<(event: ClusterEvent) => void>();
  private readonly inFlight = new Map<string, number>();
  /** The most requests one client had in flight at once. */
  maxInFlightPerClient = 0;
  private seq = 0;
  private faultWords: string[] = [];
  private readonly down = new Set<string>();
  private readonly elements: unknown[] = [];
  private counter = 0;
  private nextId = 0;
  private readonly kv = new Map<string, unknown>();

  constructor(
    readonly nodes: readonly string[],
    private readonly behaviour: FakeBehaviour = {},
  ) {}

  readonly transport = {
    request: (client: string, dest: string, body: MessageBody, _timeout_ms: number) => this.request(client, dest, body),
    leader: () => null,
    upNodes: () => this.nodes.filter((n) => !this.down.has(n)),
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };

  readonly events = {
    subscribe: (listener: (event: ClusterEvent) => void) => {
      this.listeners.add(listener);
      return () => void this.listeners.delete(listener);
    },
    emit: (event: NewClusterEvent) => void this.emitted.push(event),
  };

  private async request(client: string, node: string, body: MessageBody): Promise<MessageBody> {
    const index = this.requests.length;
    const seen: SeenRequest = { client, node, body, start: this.seq++, settled: null, indefinite: false };
    this.requests.push(seen);
    const now = (this.inFlight.get(client) ?? 0) + 1;
    this.inFlight.set(client, now);
    this.maxInFlightPerClient = Math.max(this.maxInFlightPerClient, now);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2 + (index % 3)));
      if (this.behaviour.indefinite?.(index, body)) {
        seen.indefinite = true;
        throw new IndefiniteError(`${node} gave no answer`);
      }
      return this.answer(body);
    } finally {
      this.inFlight.set(client, this.inFlight.get(client)! - 1);
      seen.settled = this.seq++;
    }
  }

  private answer(body: MessageBody): MessageBody {
    const b = body as Record<string, unknown>;
    switch (body.type) {
      case 'echo':
        return { type: 'echo_ok', echo: b.echo };
      case 'generate':
        return { type: 'generate_ok', id: this.behaviour.constant_id ?? `id-${this.nextId++}` };
      case 'broadcast':
        if (!this.behaviour.forget?.(b.message)) this.elements.push(b.message);
        return { type: 'broadcast_ok' };
      case 'add':
        if ('element' in b) {
          if (!this.behaviour.forget?.(b.element)) this.elements.push(b.element);
        } else this.counter += (b.delta as number) * (this.behaviour.double_adds ? 2 : 1);
        return { type: 'add_ok' };
      case 'read':
        if ('key' in b) return this.kv.has(JSON.stringify(b.key)) ? { type: 'read_ok', value: this.kv.get(JSON.stringify(b.key)) } : { type: 'error', code: 20, text: 'no such key' };
        return this.workload === 'broadcast' ? { type: 'read_ok', messages: [...this.elements] } : { type: 'read_ok', value: this.workload === 'g-set' ? [...this.elements] : this.counter };
      case 'write':
        this.kv.set(JSON.stringify(b.key), b.value);
        return { type: 'write_ok' };
      case 'cas': {
        const key = JSON.stringify(b.key);
        if (!this.kv.has(key)) return { type: 'error', code: 20, text: 'no such key' };
        if (this.kv.get(key) !== b.from) return { type: 'error', code: 22, text: 'precondition failed' };
        this.kv.set(key, b.to);
        return { type: 'cas_ok' };
      }
      default:
        throw new Error(`the fake does not answer ${body.type}`);
    }
  }

  workload: MaelstromWorkload = 'broadcast';

  /** A fault from another terminal, as the supervisor's event stream carries it. */
  cliFault(fault: Extract<ClusterEvent, { type: 'fault' }>['fault'], description: string): void {
    const event = { type: 'fault', action: fault.action, fault, description, faults: [], active: { partition: null, links: [], paused: [], clock_offsets_ms: {} }, source: 'cli', t: Date.now(), seq: this.seq++ } as ClusterEvent;
    for (const listener of this.listeners) listener(event);
  }

  async apply(action: ControlAction, source?: 'cli' | 'nemesis'): Promise<ActionResult> {
    this.actions.push({ action, source, at: this.seq++ });
    if (action.type === 'partition') this.faultWords = ['partition'];
    else if (action.type === 'heal') this.faultWords = [];
    else if (action.type === 'kill') this.down.add(action.node);
    else if (action.type === 'restart') this.down.delete(action.node);
    return { description: `${action.type} done` };
  }

  private statusCalls = 0;

  status(): ClusterStatus {
    // The run reads the links once as it starts and counts what they carried since: before it, nothing.
    const first = this.statusCalls++ === 0;
    return {
      nodes: this.nodes.map((id) => ({ id, status: this.down.has(id) ? 'down' : 'up' })),
      links: first ? [] : (this.behaviour.links ?? []),
      faults: [...this.faultWords],
      active_faults: { partition: null, links: [], paused: [], clock_offsets_ms: {} },
    } as unknown as ClusterStatus;
  }

  /** The distinct clients of these requests, in order of first request. */
  clientsOf(requests: SeenRequest[]): string[] {
    return [...new Set(requests.map((r) => r.client))];
  }
}

function settings(workload: MaelstromWorkload, extra: Partial<RunSettings> = {}): RunSettings {
  return {
    workload,
    nodes: ['n0', 'n1', 'n2'],
    concurrency: 5,
    time_limit_s: 1,
    rate_per_s: 100,
    latency_ms: 0,
    nemesis: [],
    nemesis_interval_s: 0.1,
    key_count: null,
    seed: 42,
    recovery_wait_s: 0,
    history_file: path.join(scratchDir(), 'history.jsonl'),
    ...extra,
  };
}

function cluster(workload: MaelstromWorkload, behaviour: FakeBehaviour = {}, nodes = ['n0', 'n1', 'n2']): FakeCluster {
  const fake = new FakeCluster(nodes, behaviour);
  fake.workload = workload;
  return fake;
}

const clientNumber = (client: string) => Number(client.slice(1));

describe('MaelstromRun on a fake cluster: broadcast with a partition nemesis and indefinite requests', async () => {
  const fake = cluster('broadcast', {
    indefinite: (index) => index % 6 === 5,
    links: [
      { link: 'n0->n1', delivered: 250, dropped: 50, duplicated: 10 },
      { link: 'c3001->n0', delivered: 40, dropped: 0, duplicated: 0 },
    ],
  });
  const plan = settings('broadcast', { nemesis: ['partition'] as TestFault[], nemesis_interval_s: 0.1 });
  const phases: string[] = [];
  const outcome = await new MaelstromRun(fake, { ...plan, phase: (line) => phases.push(line) }).run();
  const main = outcome.entries.filter((e) => !e.final);
  const finals = outcome.entries.filter((e) => e.final);
  const firstFinalRequest = fake.requests.findIndex((r) => finals.some((f) => f.client === r.client));
  const mainRequests = fake.requests.slice(0, firstFinalRequest);
  const finalRequests = fake.requests.slice(firstFinalRequest);

  it('binds the first clients to nodes i mod n, and every client to one node only', () => {
    const initial = fake.clientsOf(mainRequests).sort((a, b) => clientNumber(a) - clientNumber(b)).slice(0, plan.concurrency);
    expect(initial[0]).toBe(rangeClientId('test', 0));
    const first = clientNumber(initial[0]!);
    expect(initial.map(clientNumber)).toEqual([0, 1, 2, 3, 4].map((i) => first + i));
    for (const [i, client] of initial.entries()) expect(mainRequests.find((r) => r.client === client)!.node, client).toBe(plan.nodes[i % plan.nodes.length]);
    for (const client of fake.clientsOf(fake.requests)) expect(new Set(fake.requests.filter((r) => r.client === client).map((r) => r.node)).size, client).toBe(1);
  });

  it('keeps at most one operation in flight per client, and at most `concurrency` in all', () => {
    expect(fake.maxInFlightPerClient).toBe(1);
    let open = 0;
    let most = 0;
    const events = mainRequests.flatMap((r) => [{ at: r.start, d: 1 }, { at: r.settled!, d: -1 }]).sort((a, b) => a.at - b.at);
    for (const e of events) most = Math.max(most, (open += e.d));
    expect(most).toBeLessThanOrEqual(plan.concurrency);
  });

  it('replaces a client whose operation ended indeterminate, and keeps one whose read failed', () => {
    const unknown = mainRequests.filter((r) => r.indefinite && r.body.type === 'broadcast');
    const failedReads = mainRequests.filter((r) => r.indefinite && r.body.type === 'read');
    expect(unknown.length).toBeGreaterThan(0);
    expect(failedReads.length).toBeGreaterThan(0);
    for (const r of unknown) expect(fake.requests.filter((later) => later.client === r.client && later.start > r.start), r.client).toEqual([]);
    // The history says the same: the broadcast is unknown, the read failed.
    for (const r of unknown) expect(main.find((e) => e.client === r.client && e.f === 'add' && e.value === r.body.message)?.outcome).toBe('unknown');
    const continued = failedReads.filter((r) => fake.requests.some((later) => later.client === r.client && later.start > r.settled!));
    expect(continued.length).toBeGreaterThan(0);
    // Clients over the main phase: the initial ones and one per unknown operation, but a replacement made near the
    // time limit may never get to send (at most one per worker).
    const mainClients = fake.clientsOf(mainRequests).length;
    expect(mainClients).toBeLessThanOrEqual(plan.concurrency + unknown.length);
    expect(mainClients).toBeGreaterThanOrEqual(unknown.length);
    expect(new Set(unknown.map((r) => r.client)).size).toBe(unknown.length);
  });

  it('issues about rate × time operations, each recorded once', () => {
    expect(main.length).toBe(mainRequests.length);
    expect(main.length).toBeGreaterThan(40);
    expect(main.length).toBeLessThan(160);
  });

  it('ends with exactly one final read per client, each a new client, bound to nodes i mod n, marked final', () => {
    expect(finals).toHaveLength(plan.concurrency);
    expect(finalRequests).toHaveLength(plan.concurrency);
    expect(finals.every((e) => e.f === 'read' && e.final === true)).toBe(true);
    const finalClients = finals.map((e) => e.client).sort((a, b) => clientNumber(a) - clientNumber(b));
    expect(new Set(finalClients).size).toBe(plan.concurrency);
    for (const client of finalClients) expect(mainRequests.some((r) => r.client === client)).toBe(false);
    for (const [i, client] of finalClients.entries()) expect(finals.find((e) => e.client === client)!.node).toBe(plan.nodes[i % plan.nodes.length]);
    expect(outcome.main_phase_end_ms).toBeLessThanOrEqual(outcome.end_ms);
  });

  it('alternates nemesis steps start/stop, and heals before the final reads', () => {
    const steps = fake.actions.map((a) => a.action.type);
    expect(fake.actions.every((a) => a.source === 'nemesis')).toBe(true);
    expect(steps.filter((s) => s === 'partition').length).toBeGreaterThanOrEqual(2);
    steps.forEach((step, i) => expect(step, `step ${i}`).toBe(i % 2 === 0 ? 'partition' : 'heal'));
    const lastHeal = fake.actions.at(-1)!;
    expect(lastHeal.action.type).toBe('heal');
    expect(lastHeal.at).toBeLessThan(finalRequests[0]!.start);
    expect(phases.some((p) => /healing every fault/.test(p))).toBe(true);
  });

  it('partitions with either groups that place every node once, or drops between nodes', () => {
    for (const { action } of fake.actions.filter((a) => a.action.type === 'partition')) {
      const partition = action as Extract<ControlAction, { type: 'partition' }>;
      expect(Boolean(partition.groups) !== Boolean(partition.drops), JSON.stringify(partition)).toBe(true);
      if (partition.groups) expect(partition.groups.flat().sort()).toEqual([...plan.nodes]);
      else for (const [receiver, senders] of Object.entries(partition.drops!)) for (const id of [receiver, ...senders]) expect(plan.nodes).toContain(id);
    }
  });

  it('draws each partition as a span that ended, named by its shape', () => {
    const partitions = fake.actions.filter((a) => a.action.type === 'partition').length;
    // A shape that cuts no one (minority-third of 3 nodes) is a span with nothing applied.
    expect(outcome.faults.filter((span) => !/: no node cut off/.test(span.description))).toHaveLength(partitions);
    for (const span of outcome.faults) {
      expect(span).toMatchObject({ kind: 'partition', source: 'nemesis' });
      expect(partition_specs.some((spec) => span.description.startsWith(`${spec}: `)), span.description).toBe(true);
      expect(span.end_ms).not.toBeNull();
      expect(span.end_ms!).toBeGreaterThanOrEqual(span.start_ms);
    }
    for (let i = 1; i < outcome.faults.length; i++) expect(outcome.faults[i]!.start_ms).toBeGreaterThanOrEqual(outcome.faults[i - 1]!.end_ms!);
  });

  it('writes the header line and then one line per entry', () => {
    const lines = readFileSync(plan.history_file, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ type: 'workload', workload: 'broadcast' });
    expect(lines.slice(1).map((l) => JSON.parse(l))).toEqual(outcome.entries);
  });

  it('judges a faithful cluster valid, though some of its reads timed out', () => {
    expect(main.some((e) => e.f === 'read' && e.outcome === 'fail')).toBe(true);
    expect(outcome.check.result, outcome.check.text).toBe('valid');
    expect(outcome.check_error).toBeNull();
  });

  it('counts its figures from the history and the status links', () => {
    expect(outcome.problems).toEqual([]);
    expect(outcome.availability).toBeCloseTo(outcome.entries.filter((e) => e.outcome === 'ok').length / outcome.entries.length, 9);
    expect(outcome.net.servers.msg_count).toBe(300);
    expect(outcome.net.clients.msg_count).toBe(40);
    expect(outcome.net.servers.msgs_per_op).toBeCloseTo(300 / outcome.entries.length, 9);
    expect(outcome.operations.map((o) => o.f).sort()).toEqual(['add', 'read']);
    expect(outcome.operations.reduce((sum, o) => sum + o.count, 0)).toBe(outcome.entries.length);
    expect(fake.emitted.filter((e) => e.type === 'load').map((e) => (e as { phase: string }).phase)).toContain('done');
  });
});

describe('MaelstromRun on a fake cluster: workloads judged', () => {
  it('a g-set whose nodes forget an acknowledged element is invalid, and the failure points at its add', async () => {
    const fake = cluster('g-set', { forget: (element) => element === 3 });
    const outcome = await new MaelstromRun(fake, settings('g-set', { time_limit_s: 0.5 })).run();
    const add = outcome.entries.find((e) => e.f === 'add' && e.value === 3);
    expect(add?.outcome).toBe('ok');
    expect(outcome.check.result).toBe('invalid');
    expect(outcome.check.details.lost).toEqual([3]);
    expect(outcome.failures[0]).toMatchObject({ at_ms: add!.call_ms, endpoints: [add!.node, add!.client] });
  });

  it('a broadcast whose nodes keep everything is valid, and its stable latencies and messages meet a budget or not', async () => {
    const links = [{ link: 'n0->n1', delivered: 1000, dropped: 0, duplicated: 0 }];
    const outcome = await new MaelstromRun(cluster('broadcast', { links }), settings('broadcast', { time_limit_s: 0.5 })).run();
    expect(outcome.check.result).toBe('valid');
    expect(outcome.failures).toEqual([]);
    const plan = { workload: 'broadcast' as const, availability: null };
    const within = judgeRun(plan, outcome, { stable_latency_ms_median_max: 60_000, stable_latency_ms_max_max: 60_000, msgs_per_op_max: 1000 });
    expect(within.verdict, within.headline).toBe('valid');
    expect(within.checks.map((c) => c.name)).toEqual(['broadcast', 'budget']);
    expect(within.headline).toMatch(/^valid: .*msgs-per-op [\d.]+ \(servers\); median stable latency/);
    const over = judgeRun(plan, outcome, { msgs_per_op_max: 1 });
    expect(over.verdict).toBe('invalid');
    expect(over.headline).toMatch(/^invalid: over budget: [\d.]+ messages per operation between servers \(budget: below 1\)/);
  });

  it('a g-counter that counts each add twice is invalid; one that counts right is valid', async () => {
    const wrong = await new MaelstromRun(cluster('g-counter', { double_adds: true }), settings('g-counter', { time_limit_s: 0.5, seed: 3 })).run();
    expect(wrong.entries.some((e) => e.f === 'add' && e.outcome === 'ok' && (e.value as number) > 0)).toBe(true);
    expect(wrong.check.result).toBe('invalid');
    expect(wrong.failures.length).toBeGreaterThan(0);
    const right = await new MaelstromRun(cluster('g-counter'), settings('g-counter', { time_limit_s: 0.5, seed: 3 })).run();
    expect(right.check.result).toBe('valid');
  });

  it('echo has no final phase, and with no fault in force applies nothing', async () => {
    const fake = cluster('echo');
    const outcome = await new MaelstromRun(fake, settings('echo', { time_limit_s: 0.5 })).run();
    expect(outcome.check.result).toBe('valid');
    expect(outcome.entries.some((e) => e.final)).toBe(false);
    expect(outcome.entries.length).toBeGreaterThan(20);
    expect(fake.actions).toEqual([]);
  });

  it('unique-ids handing out one id twice is invalid; distinct ids are valid', async () => {
    const dup = await new MaelstromRun(cluster('unique-ids', { constant_id: 7 }), settings('unique-ids', { time_limit_s: 0.5 })).run();
    expect(dup.check.result).toBe('invalid');
    expect(dup.failures[0]?.description).toMatch(/handed out 7/);
    const ok = await new MaelstromRun(cluster('unique-ids'), settings('unique-ids', { time_limit_s: 0.5 })).run();
    expect(ok.check.result).toBe('valid');
  });

  it('lin-kv on one atomic register map is valid', async () => {
    const outcome = await new MaelstromRun(cluster('lin-kv'), settings('lin-kv', { time_limit_s: 0.5 })).run();
    expect(outcome.entries.map((e) => e.f)).toEqual(expect.arrayContaining(['read', 'write', 'cas']));
    expect(outcome.check.result).toBe('valid');
  });
});

describe('MaelstromRun on a fake cluster: kill and pause, and stopping early', () => {
  it('restarts the node it killed and resumes the node it paused, each before that kind starts again', async () => {
    const fake = cluster('echo');
    await new MaelstromRun(fake, settings('echo', { time_limit_s: 0.6, rate_per_s: 20, nemesis: ['kill', 'pause'], nemesis_interval_s: 0.05 })).run();
    const open = new Map<string, string>();
    const ends: Record<string, string> = { restart: 'kill', resume: 'pause' };
    expect(fake.actions.length).toBeGreaterThanOrEqual(4);
    for (const { action } of fake.actions) {
      const a = action as { type: string; node: string };
      if (a.type === 'kill' || a.type === 'pause') {
        expect(open.has(a.type), `${a.type} twice`).toBe(false);
        expect(fake.nodes).toContain(a.node);
        open.set(a.type, a.node);
      } else {
        expect(open.get(ends[a.type]!), JSON.stringify(a)).toBe(a.node);
        open.delete(ends[a.type]!);
      }
    }
    expect(open.size).toBe(0);
  });

  it('stop() ends the main phase at once and skips the final reads', async () => {
    const fake = cluster('broadcast');
    const run = new MaelstromRun(fake, settings('broadcast', { time_limit_s: 30, recovery_wait_s: 10 }));
    const started = Date.now();
    setTimeout(() => run.stop(), 200);
    const outcome = await run.run();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(outcome.entries.length).toBeGreaterThan(0);
    expect(outcome.entries.some((e) => e.final)).toBe(false);
  });
});

describe('MaelstromRun on a fake cluster: stopping with every client busy', () => {
  it('leaves no timer behind (a Ctrl-C ends the command at once, not at the time limit)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    // One client and requests far faster than it answers: the runner keeps waiting for a free client.
    const run = new MaelstromRun(cluster('echo'), settings('echo', { concurrency: 1, rate_per_s: 1000, time_limit_s: 60 }));
    const done = run.run();
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.stop();
    const outcome = await done;
    expect(outcome.entries.length).toBeGreaterThan(10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A little room for the test runner's own timers; the waits alone left dozens.
    expect(timers()).toBeLessThanOrEqual(before + 2);
  });
});

describe('MaelstromRun on a fake cluster: faults from another terminal', () => {
  it('draws them on the timeline, and a restart ends only the span of the node it restarts', async () => {
    const fake = cluster('echo', {}, ['n1', 'n10', 'n2']);
    const run = new MaelstromRun(fake, settings('echo', { nodes: ['n1', 'n10', 'n2'], time_limit_s: 0.6 }));
    const done = run.run();
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.cliFault({ action: 'kill', node: 'n10' }, 'killed n10');
    fake.cliFault({ action: 'kill', node: 'n2' }, 'killed n2');
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.cliFault({ action: 'restart', node: 'n1' }, 'restarted n1');
    fake.cliFault({ action: 'restart', node: 'n2' }, 'restarted n2');
    const outcome = await done;
    const span = (description: string) => outcome.faults.find((f) => f.description === description)!;
    expect(span('killed n10')).toMatchObject({ kind: 'kill', source: 'cli' });
    // n2's restart ended n2's span at once; n10 stayed down until the run healed everything.
    expect(span('killed n2').end_ms!).toBeLessThan(outcome.main_phase_end_ms);
    expect(span('killed n10').end_ms!).toBeGreaterThanOrEqual(outcome.main_phase_end_ms);
  });
});
