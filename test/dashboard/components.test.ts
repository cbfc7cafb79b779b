import chalk from 'chalk';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { DashboardView, EventLog, sparkline, type DashboardViewProps } from '../../src/lib/dashboard/components.js';
import { availableColumns, fitColumns } from '../../src/lib/dashboard/layout.js';
import { reduceAll, type DashboardModel } from '../../src/lib/dashboard/model.js';
import { viewFor } from '../../src/registry.js';
import type { LoadStats } from '../../src/lib/load-stats.js';
import { recordedRaftEvents, until } from './recorded.js';

const events = recordedRaftEvents();
const at = (match: (e: ClusterEvent) => boolean) => reduceAll(until(events, match));
const withLeader = at((e) => e.type === 'node_state' && e.node === 'n5' && e.state.commit_index === 1);
const withoutLeader = at((e) => e.type === 'fault' && e.action === 'kill');
const partitioned = at((e) => e.type === 'fault' && e.action === 'link_faults' && e.description.includes('delay'));
const underLoad = at((e) => e.type === 'load' && e.phase === 'done');

function view(model: DashboardModel, overrides: Partial<DashboardViewProps> = {}): string {
  const props: DashboardViewProps = { model, now_ms: model.log.at(-1)!.t + 2500, width: 80, color: false, selected: 0, message: null, showHelp: false, ...overrides };
  const { lastFrame, unmount } = render(h(DashboardView, props));
  const frame = lastFrame() ?? '';
  unmount();
  return frame;
}

const rowOf = (frame: string, id: string) => frame.split('\n').find((line) => line.slice(2).startsWith(`${id} `)) ?? '';

describe('DashboardView', () => {
  const level = chalk.level;
  afterEach(() => {
    chalk.level = level;
  });

  it("shows a Zab ensemble's leader with its epoch, and each server's sessions and znodes", () => {
    const t = 1_000;
    const base = (type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;
    const model = reduceAll([
      base('cluster_up', { name: 'zk', system: 'zab', nodes: ['n1', 'n2'], seed: 1, view: viewFor('zab') }),
      base('node_up', { node: 'n1', pid: 10, restarts: 0 }),
      base('node_up', { node: 'n2', pid: 11, restarts: 0 }),
      base('node_state', { node: 'n1', state: { role: 'leading', epoch: 4, sessions: 7, znodes: 12 } }),
      base('node_state', { node: 'n2', state: { role: 'following', epoch: 4, sessions: 6, znodes: 11 } }),
    ]);
    const frame = view(model, { width: 120 });
    expect(frame).toContain('leader n1 · epoch 4');
    expect(frame).toMatch(/EPOCH.*SESS\s+ZNODES/);
    expect(rowOf(frame, 'n1')).toMatch(/leading\s+4\s.*\s7\s+12\s/);
    expect(rowOf(frame, 'n2')).toMatch(/following\s+4\s.*\s6\s+11\s/);
  });

  it('shows the cluster, the leader and one row per node with role, term, indexes and rates', () => {
    const frame = view(withLeader);
    expect(frame).toContain('cluster raft · raft · up ');
    expect(frame).toContain('seed 7 · nodes 5/5 up');
    expect(frame).toContain('leader n5 · term 1');
    expect(frame).toContain('faults: none');
    expect(frame).toMatch(/NODE\s+STATUS\s+ROLE\s+TERM\s+COMMIT\s+APPLIED\s+LOG\s+CONTACT\s+IN\/OUT\/s/);
    expect(rowOf(frame, 'n5')).toMatch(/n5\s+up\s+leader\s+1\s+1\s+1\s+1\s+leader/);
    expect(rowOf(frame, 'n2')).toMatch(/n2\s+up\s+follower\s+1\s+0 -1\s+0\s+0\s/);
    expect(rowOf(view(underLoad), 'n2')).toMatch(/\d+\/\d+$/);
    expect(frame).toContain('network: connected, no link faults');
    expect(frame.split('\n').every((line) => line.length <= 80)).toBe(true);
  });

  it('says "no leader" with how long, and shows the killed node with its signal', () => {
    const frame = view(withoutLeader, { now_ms: withoutLeader.no_leader_since_t! + 1200 });
    expect(frame).toContain('no leader for 1.2s');
    expect(rowOf(frame, 'n5')).toMatch(/n5\s+down KILL/);
  });

  it('draws the partition groups side by side with the link faults, and the paused node', () => {
    const frame = view(partitioned);
    expect(frame).toMatch(/│ n3 │ ✕ │ n1‖ n2 n4 n5✗ │/);
    expect(frame).toContain('links: all links: loss 20% · n2-n3: delay 50ms');
    expect(frame).toContain('faults: partition {n3} | {n1,n2,n4,n5}; loss 20%; delay 50ms on n2-n3; n1 paused');
    expect(rowOf(frame, 'n1')).toMatch(/n1\s+paused/);
  });

  it('drops the least useful columns first on a narrow terminal', () => {
    const frame = view(withLeader, { width: 60 });
    expect(frame).toMatch(/NODE\s+STATUS\s+ROLE\s+TERM\s+COMMIT\s+IN\/OUT\/s/);
    expect(frame).not.toContain('APPLIED');
    expect(frame).not.toContain('CONTACT');
    expect(frame.split('\n').every((line) => line.length <= 60)).toBe(true);
    const order = fitColumns(availableColumns(withLeader), 40).map((c) => c.key);
    expect(order).toEqual(['node', 'status', 'role', 'commit']);
  });

  it('marks the selected row and shows the committed-ops sparkline after a load', () => {
    const frame = view(underLoad, { selected: 2 });
    expect(frame.split('\n').find((l) => l.startsWith('> '))).toMatch(/^> n3/);
    expect(frame).toMatch(/committed ops\/s [▁▂▃▄▅▆▇█]+ \d+ \(load done\)/);
  });

  it('honours NO_COLOR: no colour codes even where the terminal has colour', () => {
    chalk.level = 1;
    const coloured = view(withLeader, { color: true });
    const plain = view(withLeader, { color: false });
    const colourCode = /\u001b\[(3[0-7]|9[0-7])m/;
    expect(coloured).toMatch(colourCode);
    expect(plain).not.toMatch(colourCode);
  });

  it("shows a paused or killed leader's last role dimmed, or as - without colour, and never as the leader", () => {
    const pausedLeader = reduceAll([
      ...until(events, (e) => e.type === 'node_state' && e.node === 'n5' && e.state.commit_index === 1),
      { type: 'node_paused', node: 'n5', t: withLeader.log.at(-1)!.t + 1, seq: 0 } as ClusterEvent,
    ]);
    const plain = view(pausedLeader);
    expect(rowOf(plain, 'n5')).toMatch(/n5\s+paused\s+-\s+1/);
    expect(plain).toContain('no leader');
    expect(rowOf(view(withoutLeader), 'n5')).toMatch(/n5\s+down KILL\s+-\s/);
    chalk.level = 1;
    const coloured = view(pausedLeader, { color: true });
    // eslint-disable-next-line no-control-regex
    const colouredRow = coloured.split('\n').find((line) => line.includes('n5') && line.includes('paused')) ?? '';
    expect(colouredRow).toMatch(/\u001b\[2mleader/);
    // Not the leader's green or bold.
    expect(colouredRow).not.toMatch(/\u001b\[32m/);
    expect(colouredRow).not.toMatch(/\u001b\[1mleader/);
  });

  it('writes roles exactly as nodes report them, narrowing the role column only when room is short', () => {
    const preVote = reduceAll([...until(events, (e) => e.type === 'fault' && e.action === 'kill'), { type: 'node_state', node: 'n2', state: { role: 'pre_candidate', term: 1 }, t: withoutLeader.log.at(-1)!.t + 1, seq: 0 } as ClusterEvent]);
    expect(rowOf(view(preVote, { width: 100 }), 'n2')).toMatch(/n2\s+up\s+pre_candidate\s+1/);
    const narrow = view(preVote, { width: 80 });
    expect(rowOf(narrow, 'n2')).toMatch(/n2\s+up\s+pre_cand\S*…/);
    expect(narrow).toContain('APPLIED');
    expect(narrow).not.toContain('pre-vote');
  });

  it('shows no missing leader, and no leader contact, for a system without leaders', () => {
    const stream = (system: string) =>
      reduceAll([
        { type: 'cluster_up', name: 'c', system, nodes: ['n1', 'n2'], seed: 3, view: viewFor(system), t: 1000, seq: 1 },
        ...['n1', 'n2'].map((node, i) => ({ type: 'node_up', node, pid: 10 + i, restarts: 0, t: 1000, seq: 2 + i }) as ClusterEvent),
        ...['n1', 'n2'].map((node, i) => ({ type: 'node_state', node, state: { role: 'echo', reachable: '' }, t: 1100, seq: 4 + i }) as ClusterEvent),
      ]);
    const echo = view(stream('echo'));
    expect(echo).not.toContain('no leader');
    expect(echo).toContain('leaderless system');
    expect(echo).toMatch(/NODE\s+STATUS\s+ROLE\s+IN\/OUT\/s/);
    expect(echo).not.toContain('CONTACT');
    // The same stream, as a node of no known system, still misses its leader.
    expect(view(stream('mine'))).toContain('no leader');
  });

  it('says when the leader is only inferred from client replies', () => {
    const inferred = { ...withLeader, leader: 'n2', leader_term: null, leader_inferred: true };
    expect(view(inferred)).toContain('leader n2 (inferred from client replies)');
  });

  it('shows the help panel and a message line on request', () => {
    const frame = view(withLeader, { showHelp: true, message: { text: 'killed n5 (leader)' } });
    expect(frame).toContain('kill the selected node (SIGKILL)');
    expect(frame).toContain('killed n5 (leader)');
  });
});

describe('EventLog and sparkline', () => {
  it('lists the newest entries last, bounded', () => {
    const { lastFrame, unmount } = render(h(EventLog, { entries: underLoad.log, color: false, limit: 3 }));
    const lines = (lastFrame() ?? '').split('\n');
    unmount();
    expect(lines).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} load done: ok 213/);
  });

  it('scales samples to the largest shown', () => {
    expect(sparkline([0, 50, 100], 10)).toBe('▁▄█');
    expect(sparkline([1, 2, 3, 4], 2)).toBe('▆█');
    expect(sparkline([0, 0], 5)).toBe('▁▁');
  });
});

describe('NodeTable with node groups', () => {
  const base = (type: string, extra: Record<string, unknown>) => ({ type, t: 1_000, seq: 1, ...extra }) as unknown as ClusterEvent;
  const up = (node: string) => base('node_up', { node, pid: 10, restarts: 0 });

  it('shows one section per group, each titled with how many of its nodes are up', () => {
    const model = reduceAll([
      base('cluster_up', { name: 'c', system: 'snow', nodes: ['z1', 'z2', 'w1'], seed: 1, view: viewFor('snow'), groups: [{ name: 'coordinator', nodes: ['z1', 'z2'] }, { name: 'workers', nodes: ['w1'] }] }),
      up('z1'),
      up('w1'),
    ]);
    const lines = view(model).split('\n');
    const index = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(index(/^ {2}coordinator 1\/2 up$/)).toBeGreaterThan(index(/^ {2}NODE\s+STATUS/));
    expect(index(/^[> ] z1\s+up/)).toBe(index(/coordinator 1\/2 up/) + 1);
    expect(index(/^ {2}z2\s+starting/)).toBe(index(/coordinator 1\/2 up/) + 2);
    expect(index(/^ {2}workers 1\/1 up$/)).toBe(index(/coordinator 1\/2 up/) + 3);
    expect(index(/^ {2}w1\s+up/)).toBe(index(/workers 1\/1 up/) + 1);
  });

  it('adds no section title for a cluster of one group', () => {
    const model = reduceAll([base('cluster_up', { name: 'c', system: 'raft', nodes: ['n1'], seed: 1, view: viewFor('raft'), groups: [{ name: 'nodes', nodes: ['n1'] }] }), up('n1')]);
    const frame = view(model);
    expect(frame).not.toMatch(/^ {2}nodes 1\/1 up$/m);
    expect(frame.split('\n').findIndex((line) => /^[> ] n1\s+up/.test(line))).toBe(frame.split('\n').findIndex((line) => /NODE\s+STATUS/.test(line)) + 1);
  });
});


describe('the locks dashboard', () => {
  it("shows the resource's verdict so far under the table and each contender's lost locks", () => {
    const t = 1_000;
    const base = (type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;
    const contender = (node: string, acked: number, lock_lost: number) => base('node_state', { node, state: { role: 'contender', lock_state: 'idle', token: null, acked, rejected: 0, lock_lost } });
    const model = reduceAll([
      base('cluster_up', { name: 'locks', system: 'locks', nodes: ['r1', 'k1', 'k2'], seed: 1, view: viewFor('locks', { lock_backend: 'redis' }) }),
      ...['r1', 'k1', 'k2'].map((node, i) => base('node_up', { node, pid: 10 + i, restarts: 0 })),
      base('node_state', { node: 'r1', state: { role: 'resource', counter: 2, max_token: null, accepted: 5, rejected: 0, lost: 3, overlaps: 1, violations: 1, verdict: 'counter 2 after 5 acknowledged increments, 3 lost; 1 overlap', verdict_ok: false } }),
      contender('k1', 1, 1),
      contender('k2', 4, 0),
    ]);
    const frame = view(model, { width: 100 });
    expect(frame).toContain('r1: counter 2 after 5 acknowledged increments, 3 lost; 1 overlap');
    expect(frame).toMatch(/ACKED\s+REJECT\s+LOST-LOCK/);
    expect(rowOf(frame, 'k1')).toMatch(/contender\s+idle\s+-\s+1\s+0\s+1\b/);
    expect(rowOf(frame, 'k2')).toMatch(/contender\s+idle\s+-\s+4\s+0\s+0\b/);
    // An 80-column terminal keeps the lost locks; the counter is in the verdict line.
    expect(view(model, { width: 80 })).toMatch(/LOST-LOCK/);
  });
});

describe('the link rates and load lines', () => {
  const at = (t: number, type: string, extra: Record<string, unknown>) => ({ type, t, seq: 1, ...extra }) as unknown as ClusterEvent;
  const stats = (t: Partial<LoadStats>): LoadStats => ({ offered: 0, completed: 0, ok: 0, not_found: 0, mismatched: 0, fail: 0, unknown: 0, skipped: 0, elapsed_ms: 0, throughput_per_s: 0, latency_ms: null, by_function: {}, ...t });
  const load = (t: number, phase: string, figures: Partial<LoadStats>) => at(t, 'load', { phase, stats: stats(figures), options: { clients: 3, rate_per_s: 20, duration_ms: 4000, keys: 0, history_path: null } });
  const links = [
    { src: 'n1', dest: 'n2', per_s: 120 },
    { src: 'n2', dest: 'n1', per_s: 118 },
    { src: null, dest: 'n0', per_s: 7 },
    { src: 'n0', dest: null, per_s: 7 },
    { src: 'n2', dest: 'lin-kv', per_s: 2.5 },
  ];
  const model = reduceAll([
    at(0, 'cluster_up', { name: 'test-echo', system: 'student', nodes: ['n0', 'n1', 'n2'], seed: 1, view: viewFor('student') }),
    ...['n0', 'n1', 'n2'].map((node, i) => at(0, 'node_up', { node, pid: 10 + i, restarts: 0 })),
    load(1_000, 'start', {}),
    at(2_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 3, links, links_active: 9 }),
    load(2_500, 'progress', { completed: 40, ok: 37, fail: 2, unknown: 1, elapsed_ms: 1500, throughput_per_s: 25, latency_ms: { p50: 1.4, p90: 3, p99: 8, max: 12 } }),
  ]);
  const lineOf = (frame: string, start: string) => frame.split('\n').find((line) => line.startsWith(start)) ?? '';

  it('names the busiest links first, the clients taken together, how many more were busy, and the drops per second', () => {
    const wide = lineOf(view(model, { width: 120 }), 'msgs/s per link:');
    expect(wide).toBe('msgs/s per link: n1→n2 120 · n2→n1 118 · clients→n0 7 · n0→clients 7 · n2→lin-kv 2.5 · +4 more · dropped 3/s');
    // A narrow terminal shows fewer links, counts the rest, and still the drops.
    const narrow = lineOf(view(model, { width: 64 }), 'msgs/s per link:');
    expect(narrow).toBe('msgs/s per link: n1→n2 120 · n2→n1 118 · +7 more · dropped 3/s');
    expect(lineOf(view(model, { width: 40 }), 'msgs/s per link:')).toBe('msgs/s per link: +9 more · dropped 3/s');
    const idle = reduceAll([at(3_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 0, links: [], links_active: 0 })], model);
    expect(lineOf(view(idle), 'msgs/s per link:')).toBe('msgs/s per link: none · dropped 0/s');
    // Before the router's first report, or from a supervisor that names no links: no line.
    const cluster = at(0, 'cluster_up', { name: 'c', system: 'student', nodes: ['n1'], seed: 1, view: viewFor('student') });
    expect(view(reduceAll([cluster]))).not.toContain('msgs/s per link');
    expect(view(reduceAll([cluster, at(3_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 0 })]))).not.toContain('msgs/s per link');
  });

  it('on a short terminal drops the sparkline first, then the link rates, then the load figures, so the view stays shorter than the terminal', () => {
    const lines = (height: number | null) => view(model, { width: 120, height }).split('\n');
    const full = lines(null);
    expect(full.some((line) => line.startsWith('committed ops/s'))).toBe(true);
    expect(lines(full.length + 1)).toEqual(full);
    const noSparkline = lines(full.length);
    expect(noSparkline).toEqual(full.filter((line) => !line.startsWith('committed ops/s')));
    const loadOnly = lines(full.length - 1);
    expect(loadOnly).toEqual(noSparkline.filter((line) => !line.startsWith('msgs/s per link')));
    expect(loadOnly.some((line) => line.startsWith('load 1.5s of 4s'))).toBe(true);
    const none = lines(full.length - 2);
    expect(none).toEqual(loadOnly.filter((line) => !line.startsWith('load ')));
    // The rest of the view is never cut: a terminal too short for it gets it all the same.
    expect(lines(3)).toEqual(none);
  });

  it('counts every part of the view as drawn (partition boxes, group titles, verdicts, help, message) when it decides what fits', () => {
    const loaded = reduceAll([at(9_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 1, links, links_active: 9 })], underLoad);
    const cases: [DashboardModel, Partial<DashboardViewProps>][] = [
      [reduceAll([at(9_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 1, links, links_active: 9 })], partitioned), {}],
      [loaded, { showHelp: true, message: { text: 'heal…' } }],
      [model, {}],
      [
        reduceAll([
          at(0, 'cluster_up', { name: 'c', system: 'snow', nodes: ['z1', 'w1'], seed: 1, view: viewFor('snow'), groups: [{ name: 'coordinator', nodes: ['z1'] }, { name: 'workers', nodes: ['w1'] }] }),
          at(0, 'node_up', { node: 'z1', pid: 10, restarts: 0 }),
          at(0, 'node_state', { node: 'z1', state: { verdict: 'all ids unique so far', verdict_ok: true } }),
          load(1_000, 'start', {}),
          at(2_000, 'rates', { interval_ms: 1000, nodes: {}, dropped_per_s: 0, links, links_active: 9 }),
        ]),
        {},
      ],
    ];
    for (const [shown, overrides] of cases) {
      const full = view(shown, { width: 120, ...overrides }).split('\n');
      // With one row more than the view takes everything is shown; with one row fewer than that, one optional line gives way.
      expect(view(shown, { width: 120, ...overrides, height: full.length + 1 }).split('\n')).toHaveLength(full.length);
      expect(view(shown, { width: 120, ...overrides, height: full.length }).split('\n')).toHaveLength(full.length - 1);
    }
  });

  it("shows the running load's ops, outcomes, throughput and latency, then says it is done", () => {
    const frame = view(model, { width: 100 });
    expect(lineOf(frame, 'load ')).toBe('load 1.5s of 4s: 40 ops · ok 37 · fail 2 · unknown 1 · avg 25/s · p50 1.4ms p99 8ms');
    // The figures come before the line with the sparkline.
    expect(frame.indexOf('load 1.5s')).toBeLessThan(frame.indexOf('committed ops/s'));
    const done = reduceAll([load(5_000, 'done', { completed: 80, ok: 76, not_found: 1, fail: 2, unknown: 1, elapsed_ms: 4000, throughput_per_s: 19 })], model);
    expect(lineOf(view(done, { width: 100 }), 'load ')).toBe('load done after 4s: 80 ops · ok 76 · not found 1 · fail 2 · unknown 1 · avg 19/s');
    // A load that keeps its recent latency shows that while it runs (the whole load's figures hide a stall), and says when nothing was answered lately.
    const figures = { completed: 60, ok: 60, elapsed_ms: 2500, throughput_per_s: 24, latency_ms: { p50: 1.4, p90: 3, p99: 8, max: 12 } };
    const lately = reduceAll([load(3_500, 'progress', { ...figures, recent_latency_ms: { p50: 250, p99: 1200 } })], model);
    expect(lineOf(view(lately, { width: 100 }), 'load ')).toBe('load 2.5s of 4s: 60 ops · ok 60 · fail 0 · unknown 0 · avg 24/s · latency now p50 250ms p99 1.2s');
    const stalled = reduceAll([load(3_500, 'progress', { ...figures, recent_latency_ms: null })], model);
    expect(lineOf(view(stalled, { width: 100 }), 'load ')).toBe('load 2.5s of 4s: 60 ops · ok 60 · fail 0 · unknown 0 · avg 24/s · nothing answered lately');
    // No load, no line.
    expect(view(reduceAll([at(0, 'cluster_up', { name: 'c', system: 'student', nodes: ['n1'], seed: 1, view: viewFor('student') })]))).not.toMatch(/^load /m);
  });
});
