/**
 * The lock workload's grader steps and history checks. A lab's test runs
 * rounds on the contenders (lock_run), probes the resource's fence directly
 * (lock_resource), finds the ZooKeeper queue to aim a fault at a waiter
 * (lock_queue), and counts how many waiters each release woke
 * (lock_expect_no_herd). What the resource observed is saved as the test's
 * history after every wait, and the checks (mutual_exclusion,
 * no_lost_increments, fencing_monotonic) judge it with checker.ts.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { NodeStatus } from '../../lib/control/api.js';
import { defineStep, node_ref, poll_interval_ms, sleep, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import type { HistoryChecker, HistoryVerdict } from '../../lib/plugin.js';
import { error_codes } from '../../lib/protocol/messages.js';
import { waitUntilHolds } from '../../lib/util/poll.js';
import { checkLocks, type LockCheck } from '../../systems/locks/checker.js';
import { loadReport, lockBackendOf, readReportPages } from './client.js';
import type { LockReport } from '../../systems/locks/observations.js';

/** One request a step sends to a contender, the resource or a coordinator server. */
export const lock_step_request_timeout_ms = 10_000;
/** The ZooKeeper lock node and its children's prefix, as the locks lab's README fixes them (recipes/zk.ts uses the same). */
export const lab_lock_path = '/dslab-lock';
export const lab_lock_child_prefix = 'lock-';
/** Session timeout of the grader's own short ZooKeeper session (lock_queue). */
export const queue_session_timeout_ms = 10_000;
/** The trace is written through a stream: a short wait lets what was routed reach the file. */
export const trace_settle_ms = 300;

const history_key = 'locks.history';
const probe_key = 'locks.probe';

type Body = Record<string, unknown> & { type?: unknown };

async function send(ctx: StepContext, dest: string, body: Record<string, unknown> & { type: string }): Promise<Body> {
  const result = await ctx.act({ type: 'send', dest, body, timeout_ms: lock_step_request_timeout_ms });
  return result.reply as Body;
}

function groupMembers(ctx: StepContext, group: string): NodeStatus[] {
  return ctx.status().nodes.filter((n) => n.group === group);
}

function resourceId(ctx: StepContext): string {
  return groupMembers(ctx, 'resource')[0]?.id ?? ctx.fail('this cluster has no resource node (group resource)');
}

/** Every observation the resource has, and its counter. */
async function fetchReport(ctx: StepContext): Promise<LockReport> {
  const resource = resourceId(ctx);
  const page = async (from: number) => {
    const reply = await send(ctx, resource, { type: 'lock_report', from });
    if (reply.type !== 'lock_report_ok') ctx.fail(`${resource} answered lock_report with ${describeReply(reply)}`);
    if (!Array.isArray(reply.observations) || typeof reply.fencing !== 'boolean') ctx.fail(`${resource}'s lock_report_ok needs observations (a list) and fencing (true or false)`);
    return reply as unknown as LockReport;
  };
  const { first, observations } = await readReportPages(page);
  return { counter_place: first.counter_place ?? 'resource', fencing: first.fencing, counter: typeof first.counter === 'number' ? first.counter : null, max_token: first.max_token ?? null, observations, dropped: first.dropped ?? 0, total: observations.length, next: null, ...lockBackendOf(ctx.status()) };
}

/**
 * Saves what the resource observed as the test's one lock history (the checks read the latest), and holds
 * the run to min_writes accepted writes: a contender that never takes the lock overlaps with no one.
 */
async function collect(ctx: StepContext, min_writes: number | undefined): Promise<void> {
  const file = ctx.memo(history_key, () => ctx.historyFile());
  const report = await fetchReport(ctx);
  writeFileSync(file, JSON.stringify(report) + '\n');
  const writes = report.observations.filter((o) => o.kind === 'write' && o.accepted !== false).length;
  if (min_writes !== undefined && writes < min_writes) ctx.fail(`the resource accepted ${writes} write${writes === 1 ? '' : 's'} in all, expected at least ${min_writes}: did the contenders take the lock?`);
}
const min_writes = z.number().int().min(0).optional();

function describeReply(reply: Body): string {
  return reply.type === 'error' ? `error ${String(reply.code)}: ${String(reply.text ?? '')}` : `a ${String(reply.type)} message`;
}

/** The contenders a step names, or every contender that is up. */
function targets(ctx: StepContext, refs: readonly string[] | undefined): string[] {
  if (refs) return refs.map((ref) => ctx.node(ref));
  const up = groupMembers(ctx, 'contenders').filter((n) => n.status === 'up');
  if (up.length === 0) ctx.fail('no contender is up');
  return up.map((n) => n.id);
}

/** Why a contender has not finished its rounds, or null when it has (idle with none left, or down). */
function unfinished(node: NodeStatus | undefined): string | null {
  if (!node) return 'it is not in the cluster';
  if (node.status === 'down') return null;
  if (node.state_at_ms === null) return 'it sent no dslab_state report (the lab needs lock_state and rounds_left)';
  const left = node.state.rounds_left;
  if (left === 0 && node.state.lock_state === 'idle' && node.status === 'up') return null;
  return `${typeof left === 'number' ? `${left} round${left === 1 ? '' : 's'} left` : 'no rounds_left reported'}, ${node.status === 'up' ? `lock_state ${JSON.stringify(node.state.lock_state ?? null)}` : node.status}`;
}

async function waitForRounds(ctx: StepContext, nodes: readonly string[], within_ms: number): Promise<void> {
  const why = await waitUntilHolds(within_ms, poll_interval_ms, () => {
    const status = ctx.status();
    const left = nodes.map((id) => ({ id, why: unfinished(status.nodes.find((n) => n.id === id)) })).filter((l) => l.why !== null);
    return left.length === 0 ? null : `the rounds did not finish within ${within_ms} ms: ${left.map((l) => `${l.id} (${l.why})`).join('; ')}`;
  });
  if (why !== null) ctx.fail(why);
}

const zk_reply = (ctx: StepContext, server: string, request: string, reply: Body): Body =>
  reply.type === `${request}_ok` ? reply : ctx.fail(`${server} answered ${request} with ${describeReply(reply)}`);

/** The lock node's children in sequence order with the contender each belongs to (its data), through a short session of the grader's. */
async function readQueue(ctx: StepContext): Promise<{ name: string; holder: string }[]> {
  const servers = groupMembers(ctx, 'coordinator').filter((n) => n.status === 'up');
  const server = servers.find((n) => n.state.role === 'leading')?.id ?? servers[0]?.id ?? ctx.fail('no coordinator server is up');
  const connected = zk_reply(ctx, server, 'connect', await send(ctx, server, { type: 'connect', timeout_ms: queue_session_timeout_ms }));
  const session = connected.session;
  try {
    const listed = await send(ctx, server, { type: 'get_children', session, path: lab_lock_path });
    if (listed.type === 'error' && listed.zk_error === 'NoNode') return [];
    const children = (zk_reply(ctx, server, 'get_children', listed).children as string[]).filter((c) => c.startsWith(lab_lock_child_prefix));
    children.sort((a, b) => sequence(a) - sequence(b));
    const queue: { name: string; holder: string }[] = [];
    for (const name of children) {
      const data = await send(ctx, server, { type: 'get_data', session, path: `${lab_lock_path}/${name}` });
      // A node that went between the two reads is no longer in the queue.
      if (data.type === 'get_data_ok') queue.push({ name, holder: String(data.data) });
    }
    return queue;
  } finally {
    await send(ctx, server, { type: 'close_session', session }).catch(() => undefined);
  }
}

function sequence(name: string): number {
  return Number(/(\d+)$/.exec(name)?.[1] ?? Number.NaN);
}

interface TraceLine {
  fate?: string;
  msg?: { src?: string; dest?: string; body?: { type?: string; path?: string; sequential?: boolean } };
}

export const locks_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'lock_run',
    description:
      'Start `rounds` critical sections (lock_run) on the given contenders, or on every contender that is up; unless wait is false, wait until each has none left (its dslab_state reports rounds_left 0 and lock_state idle) within within_ms, then save what the resource observed for the checks; with min_writes, the resource must have accepted at least that many writes in all by then.',
    fields: { rounds: z.number().int().min(1).max(100_000), nodes: z.array(node_ref).min(1).optional(), wait: z.boolean().optional(), within_ms: step_duration_ms.optional(), min_writes },
    node_fields: ['nodes'],
    needs_state_reports: true,
    async run(step, ctx) {
      const nodes = targets(ctx, step.nodes);
      for (const node of nodes) {
        const reply = await send(ctx, node, { type: 'lock_run', rounds: step.rounds });
        if (reply.type !== 'lock_run_ok') ctx.fail(`${node} answered lock_run with ${describeReply(reply)}`);
      }
      if (step.wait === false) return;
      await waitForRounds(ctx, nodes, step.within_ms ?? ctx.fail('lock_run waits for its rounds: give within_ms (or wait: false)'));
      await collect(ctx, step.min_writes);
    },
  }),
  defineStep({
    name: 'lock_wait',
    description: 'Wait until the given contenders (default: every contender) have no rounds left, within within_ms, then save what the resource observed for the checks (and hold it to min_writes, as lock_run does).',
    fields: { nodes: z.array(node_ref).min(1).optional(), within_ms: step_duration_ms, min_writes },
    node_fields: ['nodes'],
    needs_state_reports: true,
    async run(step, ctx) {
      const nodes = step.nodes ? step.nodes.map((ref) => ctx.node(ref)) : groupMembers(ctx, 'contenders').map((n) => n.id);
      await waitForRounds(ctx, nodes, step.within_ms);
      await collect(ctx, step.min_writes);
    },
  }),
  defineStep({
    name: 'lock_resource',
    description:
      'Send the resource a read (res_read) or a write (res_write of value) carrying token, as a contender would, and expect it accepted ("ok") or refused with error 22 ("rejected"); with equals, an accepted read must return that value.',
    fields: { op: z.enum(['read', 'write']), token: z.number().int().nullable(), value: z.number().int().optional(), expect: z.enum(['ok', 'rejected']), equals: z.number().int().optional() },
    async run(step, ctx) {
      if (step.op === 'write' && step.value === undefined) ctx.fail('a lock_resource write needs a value');
      const resource = resourceId(ctx);
      const probe = ctx.memo(probe_key, () => ({ round: 0 }));
      probe.round++;
      const now = Date.now();
      const body = { type: `res_${step.op}`, round: probe.round, incarnation: 'grader', token: step.token, acquired_ms: now, ttl_ms: 60_000, ...(step.op === 'write' ? { value: step.value } : {}) };
      const reply = await send(ctx, resource, body);
      const what = `${step.op === 'read' ? 'a read' : `a write of ${step.value}`} with token ${step.token ?? 'null'}`;
      const rejected = reply.type === 'error' && reply.code === error_codes.precondition_failed;
      if (reply.type === 'error' && !rejected) ctx.fail(`${resource} answered ${what} with ${describeReply(reply)}, not ${step.expect === 'ok' ? `res_${step.op}_ok` : 'error 22 (precondition failed)'}`);
      if (!rejected && reply.type !== `res_${step.op}_ok`) ctx.fail(`${resource} answered ${what} with ${describeReply(reply)}`);
      if (step.expect === 'rejected' && !rejected) ctx.fail(`${resource} accepted ${what}, which its fence must refuse (error 22)`);
      if (step.expect === 'ok' && rejected) ctx.fail(`${resource} refused ${what} (${String(reply.text ?? '')}), which its fence must accept`);
      if (step.equals !== undefined && !rejected && step.op === 'read' && reply.value !== step.equals) ctx.fail(`${resource} read ${JSON.stringify(reply.value)}, expected ${step.equals}`);
    },
  }),
  defineStep({
    name: 'lock_queue',
    description: `Wait until the ZooKeeper lock (${lab_lock_path}) has a holder and at least min_waiters waiters, then save the holder as "$holder" and the waiters in queue order as "$waiter1", "$waiter2", … (each child's data names its contender).`,
    fields: { min_waiters: z.number().int().min(0).max(100), within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const contenders = new Set(groupMembers(ctx, 'contenders').map((n) => n.id));
      const why = await waitUntilHolds(step.within_ms, poll_interval_ms * 4, async () => {
        const queue = await readQueue(ctx);
        if (queue.length >= step.min_waiters + 1) {
          const stranger = queue.find((q) => !contenders.has(q.holder));
          if (stranger) ctx.fail(`${lab_lock_path}/${stranger.name} holds data ${JSON.stringify(stranger.holder)}, not the id of a contender (the lab's lock nodes hold their contender's id)`);
          ctx.save('holder', queue[0]!.holder);
          for (const [index, waiter] of queue.slice(1).entries()) ctx.save(`waiter${index + 1}`, waiter.holder);
          return null;
        }
        return `${lab_lock_path} had ${queue.length} child${queue.length === 1 ? '' : 'ren'} after ${step.within_ms} ms, expected a holder and ${step.min_waiters} waiter${step.min_waiters === 1 ? '' : 's'}`;
      });
      if (why !== null) ctx.fail(why);
    },
  }),
  defineStep({
    name: 'lock_holder',
    description: 'Wait until a contender reports lock_state "holding" in its dslab_state, and save it (as "$holder", or save_as).',
    fields: { save_as: z.string().min(1).optional(), within_ms: step_duration_ms },
    needs_state_reports: true,
    async run(step, ctx) {
      const why = await waitUntilHolds(step.within_ms, poll_interval_ms, () => {
        const holding = groupMembers(ctx, 'contenders').find((n) => n.status === 'up' && n.state.lock_state === 'holding');
        if (!holding) return `no contender reported lock_state "holding" within ${step.within_ms} ms`;
        ctx.save(step.save_as ?? 'holder', holding.id);
        return null;
      });
      if (why !== null) ctx.fail(why);
    },
  }),
  defineStep({
    name: 'lock_expect_no_herd',
    description: `From the message trace: the watch events the coordinator sent contenders stay at or below max_per_node for each lock node they created (${lab_lock_path}/${lab_lock_child_prefix}…), plus slack: a release wakes the next waiter only, not the whole queue.`,
    fields: { max_per_node: z.number().min(0), slack: z.number().int().min(0).optional() },
    async run(step, ctx) {
      await sleep(trace_settle_ms);
      const contenders = new Set(groupMembers(ctx, 'contenders').map((n) => n.id));
      const status = ctx.status();
      if (status.trace.truncated) ctx.fail('the message trace was truncated, so the watch events cannot be counted');
      let created = 0;
      let events = 0;
      // Line by line: a trace may run to hundreds of megabytes, more than one string holds.
      for await (const line of createInterface({ input: createReadStream(status.trace.path, 'utf8'), crlfDelay: Infinity })) {
        if (!line.includes('"watch_event"') && !line.includes('"create"')) continue;
        let entry: TraceLine;
        try {
          entry = JSON.parse(line) as TraceLine;
        } catch {
          continue;
        }
        const { msg } = entry;
        if (!msg?.body || !(entry.fate === 'delivered' || entry.fate === 'duplicated')) continue;
        if (msg.body.type === 'watch_event' && contenders.has(msg.dest ?? '')) events++;
        if (msg.body.type === 'create' && contenders.has(msg.src ?? '') && msg.body.sequential === true && msg.body.path?.startsWith(`${lab_lock_path}/`)) created++;
      }
      if (created === 0) ctx.fail(`no contender created a sequential node under ${lab_lock_path}`);
      const allowed = step.max_per_node * created + (step.slack ?? 0);
      if (events > allowed) ctx.fail(`contenders were sent ${events} watch events for ${created} lock nodes (${(events / created).toFixed(1)} per node, over ${step.max_per_node}): waiters watch more than the node just below their own (the herd effect)`);
    },
  }),
];

/** One of the lock checks over the saved report: the finding it owns, in words, or none. */
function lockCheck(name: string, finding: (check: LockCheck) => string | null): HistoryChecker {
  return {
    check(file): HistoryVerdict {
      let report: LockReport;
      try {
        report = loadReport(file);
      } catch (error) {
        return { result: 'unknown', reason: error instanceof Error ? error.message : String(error) };
      }
      const check = checkLocks(report);
      const found = finding(check);
      if (found === null) return { result: 'valid' };
      return { result: 'invalid', violation: { key: 'the lock', explanation: found, key_ops: check.sections, ops: [], key_history: null, failure: `${name.replaceAll('_', ' ')} failed: ${found} (${check.summary})` } };
    },
  };
}

export const locks_checks: Readonly<Record<string, HistoryChecker>> = {
  mutual_exclusion: lockCheck('mutual_exclusion', (c) => (c.overlaps.length ? c.overlaps.map((o) => o.description).join('; ') : null)),
  no_lost_increments: lockCheck('no_lost_increments', (c) => (c.counter === null ? 'the resource reported no counter' : c.lost > 0 ? `the counter is ${c.counter} after ${c.acknowledged} acknowledged increments: ${c.lost} lost` : null)),
  fencing_monotonic: lockCheck('fencing_monotonic', (c) => (!c.fencing ? 'the resource did not fence (lock_fencing was off)' : c.token_regressions.length ? c.token_regressions.join('; ') : null)),
};
