import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ClusterPaths } from '../cluster/paths.js';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction, NodeStatus } from '../control/api.js';
import type { MessageBody } from '../protocol/messages.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import type { EventHub } from '../supervisor/event-hub.js';
import type { Rng } from '../util/prng.js';
import type { BaseLatency } from '../faults/fault-model.js';
import { findLeader, isEstablishedLeader, isLeadingRole, roleKind, type RoleVocabulary, termOf } from '../roles.js';
import type { Recorder } from './recorder.js';

/**
 * The steps a lab's tests are made of. The generic ones (leaders, faults,
 * waits, budgets) live here; a system or a workload contributes its own
 * (the lin-kv workload its kv and load steps, Raft its commit-index wait) as
 * StepDefinitions in its plugin, and a lab may use only the steps of its
 * reference system and that system's workloads.
 */

/** A step as a spec gives it: its kind in `do`, its fields beside. */
export type Step = { do: string } & Record<string, unknown>;

/**
 * The cluster as a step sees it: what the supervisor offers a grader. The
 * Supervisor class satisfies it; steps name this, not the class, so that the
 * plugin types (which name steps) never depend on the supervisor.
 */
export interface StepCluster {
  readonly events: EventHub;
  readonly paths: ClusterPaths;
  readonly config: SupervisorConfig;
  request(client: string, dest: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number, allowStarting?: boolean): Promise<MessageBody>;
  leader(): string | null;
  apply(action: ControlAction, source?: 'cli' | 'nemesis'): Promise<ActionResult>;
  status(): ClusterStatus;
  /** The network's base latency (Maelstrom's --latency), which heal leaves. */
  setBaseLatency(latency: BaseLatency | null): void;
}

/** What a step can use while it runs: the cluster, the test's nodes, randomness and files. */
export interface StepContext {
  readonly supervisor: StepCluster;
  readonly recorder: Recorder;
  /** The test's seeded randomness: the same seed makes the same choices. */
  readonly rng: Rng;
  readonly roles: RoleVocabulary;
  /** The test's own directory (kept when it fails). */
  readonly dir: string;
  status(): ClusterStatus;
  /** A node reference ("n3", "leader", "follower", "random", "random:GROUP", "$saved") as a node id, never one in `excluding`. */
  node(ref: string, excluding?: ReadonlySet<string>): string;
  /** The up nodes a choosing reference ("random", "random:GROUP", "follower") picks from, in the ensemble's order, none in `excluding`. */
  candidates(ref: string, excluding?: ReadonlySet<string>): string[];
  /** Saves a node under a name, for later steps' "$name". */
  save(name: string, node: string): void;
  /** Ends the test as failed, with this message (the step's number and kind are added). */
  fail(message: string): never;
  /** A supervisor action; its error fails the step. */
  act(action: ControlAction): Promise<Record<string, unknown>>;
  /** Resolves at the first cluster event that matches; fails the step after timeout_ms, waiting for `what`. */
  waitFor(match: (event: ClusterEvent) => boolean, timeout_ms: number, what: string): Promise<void>;
  /** A new history file for a workload to write; the linearizable check reads every one. */
  historyFile(): string;
  /** State a kind of step keeps across the steps of one test (made by `create` on first use). */
  memo<T>(key: string, create: () => T): T;
  /** Runs another step, as if the spec named it next. */
  run(step: Step): Promise<void>;
  /** Work a step leaves running; the test waits for all of it after its last step. */
  background(work: Promise<void>): void;
}

/** What the diagnosis needs to know of a kind of step to explain its failure. */
export interface StepTraits {
  /** It can only pass if nodes send dslab_state reports (roles, terms, commit indexes). */
  needs_state_reports?: boolean;
  /** It waits for a leader. */
  needs_leader?: boolean;
  /** It only succeeds if nodes talk to each other. */
  needs_traffic?: boolean;
  /** Its fields that name a node (a "leader" or "follower" there needs state reports, or a write's answer, to resolve). */
  node_fields?: readonly string[];
}

export interface StepDefinition extends StepTraits {
  /** The step's `do`. */
  name: string;
  /** One line for the spec's reader. */
  description: string;
  /** Its fields (without `do`); unknown fields are dropped. */
  fields: z.ZodObject;
  run(step: Step, ctx: StepContext): Promise<void>;
}

/** A StepDefinition whose handler sees its fields typed by its schema. */
export function defineStep<Shape extends z.ZodRawShape>(
  definition: StepTraits & { name: string; description: string; fields: Shape; run(step: z.infer<z.ZodObject<Shape>> & { do: string }, ctx: StepContext): Promise<void> },
): StepDefinition {
  const { fields, run, ...rest } = definition;
  return { ...rest, fields: z.object(fields), run: run as StepDefinition['run'] };
}

/** A background load's end, kept between the step that started it and the one that waits for it. */
interface RecordedLoad {
  done: Promise<void> | null;
}

/**
 * Starts a workload's recorded load (its `load_start`, the history in the test's folder for
 * the workload's checks) and waits until it reports done, or with `background` leaves it
 * running for the workload's wait step (`wait_step`), which calls awaitRecordedLoad.
 */
export async function startRecordedLoad(
  ctx: StepContext,
  load: { workload: string; args: Record<string, unknown>; duration_ms: number; finish_grace_ms: number; what: string; background?: boolean | undefined; wait_step: string },
): Promise<void> {
  const history = ctx.historyFile();
  const done = ctx.waitFor((e) => e.type === 'load' && e.phase === 'done', load.duration_ms + load.finish_grace_ms, load.what);
  await ctx.act({ type: 'workload', workload: load.workload, op: 'load_start', args: { ...load.args, duration_ms: load.duration_ms, history_path: history, seed: ctx.rng.int(2 ** 31) } });
  ctx.memo<RecordedLoad>(`${load.workload}.load`, () => ({ done: null })).done = done;
  ctx.background(done);
  if (!load.background) await ctx.run({ do: load.wait_step });
}

/** Waits for the load startRecordedLoad left running for `workload` (at once when there is none). */
export async function awaitRecordedLoad(ctx: StepContext, workload: string): Promise<void> {
  const load = ctx.memo<RecordedLoad>(`${workload}.load`, () => ({ done: null }));
  const done = load.done;
  load.done = null;
  if (done) await done;
}

/** Characters of a node's error text quoted in a failure. */
export const quoted_reply_text_chars_max = 200;

/**
 * A node's reply as a failure quotes it: its type, or for an error its code,
 * its ZooKeeper error name if any, and its text as the node wrote it
 * (error 10 'echo is not implemented yet').
 */
export function describeReply(reply: { type?: unknown; code?: unknown; text?: unknown; zk_error?: unknown }): string {
  if (reply.type !== 'error') return String(reply.type);
  const text = typeof reply.text === 'string' && reply.text !== '' ? reply.text : null;
  const quoted = text === null ? '' : ` '${text.length > quoted_reply_text_chars_max ? `${text.slice(0, quoted_reply_text_chars_max)}…` : text}'`;
  return `error ${String(reply.code)}${typeof reply.zk_error === 'string' ? ` ${reply.zk_error}` : ''}${quoted}`;
}

/** "n1 answered echo with error 10 'echo is not implemented yet'", or for a reply of the wrong type "…with generate_ok, expected echo_ok". */
export function unexpectedReply(node: string, request: string, reply: { type?: unknown; code?: unknown; text?: unknown; zk_error?: unknown }, expected: string): string {
  return `${node} answered ${request} with ${describeReply(reply)}${reply.type === 'error' ? '' : `, expected ${expected}`}`;
}

export const node_ref = z.string().min(1);
export const step_duration_ms = z.number().int().min(0).max(600_000);

/** A reference that picks one of several nodes: "random", "random:GROUP" or "follower". */
export function isChoosingRef(ref: string): boolean {
  return ref === 'random' || ref === 'follower' || ref.startsWith('random:');
}

/**
 * The up nodes a choosing reference picks from, in the ensemble's order:
 * "random", the graded group's (the nodes under test, beside a coordinator the
 * reference runs); "random:GROUP", that group's; "follower", the leader's
 * group's other than the leader (a worker is no follower of a Zab leader).
 * Fails (through `fail`) when "random:GROUP" names no group.
 */
export function refCandidates(ref: string, input: { nodes: readonly NodeStatus[]; graded_group: string; leader: () => string | null; excluding: ReadonlySet<string>; fail: (message: string) => never }): string[] {
  const { nodes, excluding, fail } = input;
  // A status from before groups has no group field: its nodes are all one group.
  const groupOf = (node: NodeStatus) => node.group ?? input.graded_group;
  const up = nodes.filter((n) => n.status === 'up' && !excluding.has(n.id));
  if (ref === 'random') return up.filter((n) => groupOf(n) === input.graded_group).map((n) => n.id);
  if (ref.startsWith('random:')) {
    const group = ref.slice('random:'.length);
    const names = [...new Set(nodes.map(groupOf))];
    if (!names.includes(group)) fail(`"${ref}" names no group of this cluster (groups: ${names.join(', ')})`);
    return up.filter((n) => groupOf(n) === group).map((n) => n.id);
  }
  if (ref === 'follower') {
    // With no leader known, every node under test may be a follower.
    const leader = nodes.find((n) => n.id === input.leader());
    const group = leader ? groupOf(leader) : input.graded_group;
    return up.filter((n) => n.id !== leader?.id && groupOf(n) === group).map((n) => n.id);
  }
  return fail(`"${ref}" is not a reference that chooses among nodes`);
}

/** How often waits re-read the cluster's state. */
export const poll_interval_ms = 50;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The leader the last wait_leader found, with its term (expect_leader_stable holds it to that). */
const last_leader_key = 'wait_leader.last';

/**
 * The established leader with the highest term among up nodes, if no up node has a higher term (no
 * election under way). A leading node that is not established yet (see RoleVocabulary) does not count.
 */
function settledLeader(ctx: StepContext): { id: string; term: number } | null {
  const up = ctx.status().nodes.filter((n) => n.status === 'up');
  const best = findLeader(ctx.roles, up.filter((n) => !isLeadingRole(ctx.roles, n.state) || isEstablishedLeader(ctx.roles, n.state)));
  if (!best) return null;
  const top = best.term ?? 0;
  return up.every((n) => (termOf(ctx.roles, n.state) ?? 0) <= top) ? { id: best.id, term: top } : null;
}

function directoryBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}

const fault_probability = z.number().min(0).max(1);

/** The steps every lab can use, whatever its system. */
export const generic_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'wait_leader',
    description: 'Wait until one node leads with a quorum of up nodes agreeing (same leader, same term). Saves it as "$leader". With `expect`, that leader must be this node.',
    fields: { within_ms: step_duration_ms, save_as: z.string().optional(), different_from: z.string().optional(), expect: node_ref.optional() },
    needs_state_reports: true,
    needs_leader: true,
    needs_traffic: true,
    async run(step, ctx) {
      const avoid = step.different_from ? ctx.node(step.different_from) : null;
      const deadline = Date.now() + step.within_ms;
      for (;;) {
        const leader = settledLeader(ctx);
        if (leader && leader.id !== avoid) {
          const expected = step.expect ? ctx.node(step.expect) : null;
          if (expected && leader.id !== expected) ctx.fail(`${leader.id} became leader (term ${leader.term}), but ${expected} should have won`);
          ctx.save(step.save_as ?? 'leader', leader.id);
          ctx.memo(last_leader_key, () => ({ leader })).leader = leader;
          return;
        }
        if (Date.now() > deadline) ctx.fail(avoid ? `no new leader (other than ${avoid}) within ${step.within_ms} ms` : `no leader within ${step.within_ms} ms`);
        await sleep(poll_interval_ms);
      }
    },
  }),
  defineStep({
    name: 'expect_no_new_leader',
    description: 'No node may become leader in a term above the highest seen so far, for the whole window.',
    fields: { for_ms: step_duration_ms },
    needs_state_reports: true,
    async run(step, ctx) {
      const before = ctx.recorder.maxLeaderTerm;
      await sleep(step.for_ms);
      const after = ctx.recorder.maxLeaderTerm;
      if (after > before) {
        const who = ctx.status().nodes.find((n) => isEstablishedLeader(ctx.roles, n.state) && termOf(ctx.roles, n.state) === after);
        ctx.fail(`${who?.id ?? 'a node'} became leader in term ${after} without a quorum`);
      }
    },
  }),
  defineStep({
    name: 'expect_leader_stable',
    description: 'The current leader and its term stay the same for the whole window.',
    fields: { for_ms: step_duration_ms },
    needs_state_reports: true,
    needs_leader: true,
    needs_traffic: true,
    async run(step, ctx) {
      // The leader the last wait_leader found, in the term it had then: faults since must not have moved it.
      const start = ctx.memo<{ leader: { id: string; term: number } | null }>(last_leader_key, () => ({ leader: null })).leader ?? ctx.fail('expect_leader_stable needs a wait_leader step before it');
      const deadline = Date.now() + step.for_ms;
      while (Date.now() < deadline) {
        await sleep(poll_interval_ms);
        const node = ctx.status().nodes.find((n) => n.id === start.id)!;
        if (!isEstablishedLeader(ctx.roles, node.state) || termOf(ctx.roles, node.state) !== start.term) {
          const now = settledLeader(ctx);
          ctx.fail(`leader ${start.id} (term ${start.term}) was disrupted: now ${now ? `${now.id} leads in term ${now.term}` : 'no leader'}`);
        }
      }
    },
  }),
  defineStep({
    name: 'expect_never_led',
    description: 'None of these nodes reported a leading role at any time in the test so far; with seen_as, each reported that role at least once (a Zab observer: "observing").',
    fields: { nodes: z.array(node_ref).min(1), seen_as: z.string().optional() },
    needs_state_reports: true,
    async run(step, ctx) {
      const nodes = step.nodes.map((ref) => ctx.node(ref));
      const points = ctx.recorder.timeline.filter((p) => p.kind === 'state');
      for (const node of nodes) {
        const led = points.find((p) => p.node === node && p.role !== undefined && roleKind(ctx.roles, p.role) === 'leading');
        if (led) ctx.fail(`${node} reported role ${led.role}${led.term !== undefined ? ` in term ${led.term}` : ''}, but it must never lead`);
        if (step.seen_as && !points.some((p) => p.node === node && p.role === step.seen_as)) ctx.fail(`${node} never reported role ${step.seen_as}`);
      }
    },
  }),
  defineStep({
    name: 'wait_state',
    description: "Wait until a node's state report has field equal to `equals`, or (rises) a number above the one it reported when the step began.",
    fields: { node: node_ref, field: z.string().min(1), equals: z.unknown().optional(), rises: z.boolean().optional(), within_ms: step_duration_ms },
    needs_state_reports: true,
    node_fields: ['node'],
    async run(step, ctx) {
      if ((step.equals === undefined) === (step.rises !== true)) ctx.fail('wait_state needs exactly one of equals and rises: true');
      const node = ctx.node(step.node);
      const value = () => ctx.status().nodes.find((n) => n.id === node)?.state[step.field];
      const start = value();
      const base = typeof start === 'number' ? start : Number.NEGATIVE_INFINITY;
      const deadline = Date.now() + step.within_ms;
      for (;;) {
        const now = value();
        if (step.rises ? typeof now === 'number' && now > base : JSON.stringify(now) === JSON.stringify(step.equals)) return;
        if (Date.now() > deadline) ctx.fail(`${node}'s ${step.field} is ${JSON.stringify(now)} after ${step.within_ms} ms, expected ${step.rises ? `above ${JSON.stringify(start)}` : JSON.stringify(step.equals)}`);
        await sleep(poll_interval_ms);
      }
    },
  }),
  defineStep({
    name: 'sleep',
    description: 'Wait ms milliseconds.',
    fields: { ms: step_duration_ms },
    async run(step) {
      await sleep(step.ms);
    },
  }),
  defineStep({
    name: 'pick',
    description:
      'Save a node under a name without touching it ("follower", "random" or "random:GROUP"), other than the nodes in `not`, so later steps can single it out; rank "first" or "last" takes the first or last such node in the ensemble\'s order (n1 before n2) instead of a random one.',
    fields: { node: node_ref, save_as: z.string().min(1), not: z.array(node_ref).optional(), rank: z.enum(['first', 'last']).optional() },
    node_fields: ['node'],
    async run(step, ctx) {
      const excluding = new Set((step.not ?? []).map((ref) => ctx.node(ref)));
      if (step.rank && isChoosingRef(step.node)) {
        const candidates = ctx.candidates(step.node, excluding);
        const chosen = step.rank === 'first' ? candidates[0] : candidates.at(-1);
        if (!chosen) ctx.fail(`no up node to pick as ${step.node}`);
        ctx.save(step.save_as, chosen!);
        return;
      }
      ctx.save(step.save_as, ctx.node(step.node, excluding));
    },
  }),
  ...(['kill', 'pause'] as const).map((kind) =>
    defineStep({
      name: kind,
      description: kind === 'kill' ? 'Kill a node (its data directory stays).' : 'Pause a node (SIGSTOP).',
      fields: { node: node_ref, save_as: z.string().optional() },
      node_fields: ['node'],
      async run(step, ctx) {
        const node = ctx.node(step.node);
        await ctx.act({ type: kind, node });
        if (step.save_as) ctx.save(step.save_as, node);
      },
    }),
  ),
  defineStep({
    name: 'restart',
    description: 'Restart a killed node.',
    fields: { node: node_ref },
    node_fields: ['node'],
    async run(step, ctx) {
      await ctx.act({ type: 'restart', node: ctx.node(step.node) });
    },
  }),
  defineStep({
    name: 'restart_all',
    description: 'Restart every node that is down.',
    fields: {},
    async run(_step, ctx) {
      for (const node of ctx.status().nodes) if (node.status === 'down') await ctx.act({ type: 'restart', node: node.id });
    },
  }),
  defineStep({
    name: 'kill_all',
    description: 'Kill every node that is not down.',
    fields: {},
    async run(_step, ctx) {
      for (const node of ctx.status().nodes) if (node.status !== 'down') await ctx.act({ type: 'kill', node: node.id });
    },
  }),
  defineStep({
    name: 'resume',
    description: 'Resume a paused node.',
    fields: { node: node_ref },
    node_fields: ['node'],
    async run(step, ctx) {
      await ctx.act({ type: 'resume', node: ctx.node(step.node) });
    },
  }),
  defineStep({
    name: 'partition',
    description: 'Split the network: into the given groups ("n1,n2"), around one isolated node, or into random halves.',
    fields: { groups: z.array(z.string()).optional(), isolate: node_ref.optional(), save_as: z.string().optional() },
    node_fields: ['isolate'],
    async run(step, ctx) {
      const isolate = step.isolate ? ctx.node(step.isolate) : undefined;
      await ctx.act({ type: 'partition', groups: step.groups?.map((g) => g.split(',').map((n) => ctx.node(n))), isolate, random: !step.groups && !isolate });
      if (step.save_as && isolate) ctx.save(step.save_as, isolate);
    },
  }),
  defineStep({
    name: 'heal',
    description: 'Heal every partition.',
    fields: {},
    async run(_step, ctx) {
      await ctx.act({ type: 'heal' });
    },
  }),
  defineStep({
    name: 'link_faults',
    description: 'Delay, jitter, loss, duplication and reordering on every link, or (between) only on the link between two nodes.',
    fields: {
      delay_ms: step_duration_ms.optional(),
      jitter_ms: step_duration_ms.optional(),
      loss: fault_probability.optional(),
      duplicate: fault_probability.optional(),
      reorder: fault_probability.optional(),
      between: z.array(node_ref).length(2).optional(),
    },
    async run(step, ctx) {
      const { do: _do, between, ...faults } = step;
      const link = between ? between.map((ref) => ctx.node(ref)).join('-') : undefined;
      await ctx.act({ type: 'link_faults', ...faults, ...(link ? { link } : {}) });
    },
  }),
  defineStep({
    name: 'random_partitions',
    description: 'count random partitions (random halves), each held for hold_ms, healed in between for heal_ms.',
    fields: { count: z.number().int().min(1).max(1000), hold_ms: step_duration_ms, heal_ms: step_duration_ms },
    async run(step, ctx) {
      for (let i = 0; i < step.count; i++) {
        await ctx.act({ type: 'partition', random: true });
        await sleep(step.hold_ms);
        await ctx.act({ type: 'heal' });
        await sleep(step.heal_ms);
      }
    },
  }),
  defineStep({
    name: 'nemesis',
    description: 'A seeded nemesis (the same as `dslab nemesis`).',
    fields: { interval_ms: step_duration_ms, duration_ms: step_duration_ms },
    async run(step, ctx) {
      await ctx.act({ type: 'nemesis_start', seed: ctx.rng.int(2 ** 31), interval_ms: step.interval_ms, duration_ms: step.duration_ms });
      await ctx.waitFor((e) => e.type === 'nemesis' && e.phase !== 'start', step.duration_ms + 30_000, 'the nemesis to finish');
    },
  }),
  defineStep({
    name: 'expect_message_rate',
    description: 'Messages between nodes per second, averaged over the window, stay at or below max (budgets for elections and idle heartbeats).',
    fields: { for_ms: step_duration_ms, max_per_s: z.number().min(0) },
    async run(step, ctx) {
      const count = () => ctx.status().links.reduce((sum, l) => sum + l.delivered + l.dropped, 0);
      const before = count();
      await sleep(step.for_ms);
      const rate = ((count() - before) * 1000) / step.for_ms;
      if (rate > step.max_per_s) ctx.fail(`nodes sent ${Math.round(rate)} messages/s, over the budget of ${step.max_per_s}/s`);
    },
  }),
  defineStep({
    name: 'expect_data_dir_below',
    description: "The node's data directory stays under max_bytes (compaction keeps it bounded).",
    fields: { node: node_ref, max_bytes: z.number().int().min(1) },
    node_fields: ['node'],
    async run(step, ctx) {
      const node = ctx.node(step.node);
      const bytes = directoryBytes(ctx.supervisor.paths.dataDir(node));
      if (bytes > step.max_bytes) ctx.fail(`${node}'s data directory holds ${bytes} bytes, over ${step.max_bytes}: is the log compacted after snapshots?`);
    },
  }),
];

/** The steps one lab may use, by name. */
export type StepVocabulary = ReadonlyMap<string, StepDefinition>;

/** The generic steps and the given contributions, by name; two steps of one name are a plugin bug. */
export function stepVocabulary(contributions: ReadonlyArray<{ owner: string; steps?: readonly StepDefinition[] }>): StepVocabulary {
  const vocabulary = new Map<string, StepDefinition>(generic_steps.map((s) => [s.name, s]));
  const owners = new Map<string, string>(generic_steps.map((s) => [s.name, 'the grader']));
  for (const { owner, steps } of contributions) {
    for (const step of steps ?? []) {
      const other = owners.get(step.name);
      if (other) throw new Error(`step ${step.name} is defined by both ${other} and ${owner}`);
      owners.set(step.name, owner);
      vocabulary.set(step.name, step);
    }
  }
  return vocabulary;
}
