// The grader's Zab steps (beyond the shared ones). They act on the cluster only through the grader's
// step context.

import { z } from 'zod';
import type { ClusterEvent, NodeStatus } from '../../lib/control/api.js';
import { defineStep, node_ref, poll_interval_ms, sleep, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import { error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { isEstablishedLeader, roleKind, roleOf, termOf } from '../../lib/roles.js';
import { fixedClientId } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';
import { pollUntil, waitUntilHolds } from '../../lib/util/poll.js';

/**
 * The grader's Zab steps. They write through the coordinator's client
 * protocol (README, Zab: client messages): a session from `connect`, then each
 * write a `create {session, path: "/wN", data: "wN"}` of a persistent znode,
 * acknowledged by `create_ok` once the server asked has applied it. They read
 * what servers report: `dslab_apply` (each delivered txn, its op carrying the
 * data written) and `dslab_state` (role, leader, committed_zxid, sync_mode).
 */

/** Writes a test may send through zab_write steps, in all. */
export const zab_writes_max = 10_000;
/** Writers one zab_write step may run side by side. */
export const zab_write_concurrency_max = 16;
/** Values remembered per server from its dslab_apply reports. */
export const applied_values_max = 100_000;
/** How long one request waits for its answer before it is sent again. */
const write_attempt_ms_max = 2000;
/** A doomed write waits this long for an answer it is not expected to get. */
const doomed_write_timeout_ms = 1000;
/** Pause before a refused write is tried again (no leader yet, or the one asked is not serving). */
const write_retry_ms = 50;
/** The session timeout the grader asks for; servers negotiate it down to what their tick allows. */
const session_timeout_ms_requested = 30_000;

/**
 * Asks `pending` until it answers null (what was waited for holds), every
 * interval_ms; once within_ms has passed since the first ask, the step fails
 * with pending's last answer (why it does not hold yet). Every "within
 * within_ms" wait of the Zab and ZooKeeper steps is one of these.
 */
export async function waitWithin(
  ctx: StepContext,
  within_ms: number,
  pending: () => string | null | Promise<string | null>,
  interval_ms: number = poll_interval_ms,
): Promise<void> {
  const why = await waitUntilHolds(within_ms, interval_ms, pending);
  if (why !== null) ctx.fail(why);
}

/** What one test's zab_write steps sent and what the servers applied. */
interface WriteLedger {
  next: number;
  /** The grader's session (null until connected, or after it was found closed). */
  session: string | null;
  /** Acknowledged values and the zxid each was acknowledged at ("?" when a retry found it done). */
  acked: Map<string, string>;
  /** The values the last zab_write step got acknowledged (zab_expect_applied_everywhere waits for these). */
  last_acked: string[];
  /** Values sent to a leader cut off from its quorum: they must never be delivered. */
  doomed: Set<string>;
  /** The values each server reported applying, since the first zab step of the test. */
  applied: Map<string, Set<string>>;
  /** zab_write steps left running in the background (zab_wait_writes waits for them). */
  pending: Promise<void>[];
}

const ledger_key = 'zab.writes';

/**
 * The data a dslab_apply op carries: `value` or `data` (a student's node), or the same inside `txn`
 * (dslab's Zab host reports {zxid, txn} with the znode txn). null for txns that write no data.
 */
export function appliedValue(op: unknown): string | null {
  const pick = (o: unknown): string | null => {
    if (typeof o !== 'object' || o === null) return null;
    const r = o as Record<string, unknown>;
    return typeof r.value === 'string' ? r.value : typeof r.data === 'string' && r.data !== '' ? r.data : null;
  };
  return pick(op) ?? pick(typeof op === 'object' && op !== null ? (op as Record<string, unknown>).txn : null);
}

function ledger(ctx: StepContext): WriteLedger {
  return ctx.memo(ledger_key, () => {
    const l: WriteLedger = { next: 0, session: null, acked: new Map(), last_acked: [], doomed: new Set(), applied: new Map(), pending: [] };
    // The subscription ends with the test's supervisor.
    ctx.supervisor.events.subscribe((event: ClusterEvent) => {
      if (event.type !== 'node_apply') return;
      const value = appliedValue(event.op);
      if (value === null) return;
      let values = l.applied.get(event.node);
      if (!values) l.applied.set(event.node, (values = new Set()));
      if (values.size < applied_values_max) values.add(value);
    });
    return l;
  });
}

const upNodes = (ctx: StepContext): NodeStatus[] => ctx.status().nodes.filter((n) => n.status === 'up');

/** The established leader with the highest epoch among up servers, or null. */
function establishedLeader(ctx: StepContext): NodeStatus | null {
  let best: NodeStatus | null = null;
  for (const n of upNodes(ctx)) {
    if (n.role_stale || !isEstablishedLeader(ctx.roles, n.state)) continue;
    if (!best || (termOf(ctx.roles, n.state) ?? 0) > (termOf(ctx.roles, best.state) ?? 0)) best = n;
  }
  return best;
}

function request(ctx: StepContext, client: string, node: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<MessageBody> {
  return ctx.supervisor.request(client, node, body, timeout_ms).catch((error: unknown): MessageBody => ({ type: 'error', code: error_codes.timeout, text: errorMessage(error) }));
}

const describeReply = (node: string, reply: MessageBody): string =>
  `${node} answered ${reply.type === 'error' ? `error ${String(reply.code)}${reply.zk_error ? ` ${String(reply.zk_error)}` : ''}${reply.text ? ` (${String(reply.text)})` : ''}` : reply.type}`;

/** One write, sent (again) until it is acknowledged or the deadline passes. */
async function writeOne(ctx: StepContext, l: WriteLedger, value: string, fixed: string | null, deadline_ms: number): Promise<{ ok: boolean; last: string }> {
  const outcome = await pollUntil<null>(deadline_ms, write_retry_ms, async () => {
    const up = upNodes(ctx).map((n) => n.id);
    const target: string | null = fixed ?? establishedLeader(ctx)?.id ?? (up.length ? ctx.rng.pick(up) : null);
    if (!target || !up.includes(target)) return { done: false, why: target ? `${target} is not up` : 'no server is up' };
    const wait = Math.max(1, Math.min(write_attempt_ms_max, deadline_ms - Date.now()));
    if (l.session === null) {
      const reply = await request(ctx, fixedClientId('grader_zab_writes'), target, { type: 'connect', timeout_ms: session_timeout_ms_requested }, wait);
      if (reply.type === 'connect_ok' && typeof reply.session === 'string') {
        l.session = reply.session;
        // Connected: the write goes at once, to whichever server is then the one to ask.
        return { done: false, why: `${target} gave a session but the write was not sent yet`, pause_ms: 0 };
      }
      return { done: false, why: `connect: ${describeReply(target, reply)}` };
    }
    const reply = await request(ctx, fixedClientId('grader_zab_writes'), target, { type: 'create', session: l.session, path: `/${value}`, data: value }, wait);
    // A retry that finds the znode there: an earlier attempt was applied after all.
    if (reply.type === 'create_ok' || (reply.type === 'error' && reply.zk_error === 'NodeExists')) {
      l.acked.set(value, reply.type === 'create_ok' ? String((reply.stat as Record<string, unknown> | undefined)?.czxid ?? '?') : '?');
      return { done: true, value: null };
    }
    // The grader's session expired (the grader does not ping): take a new one.
    if (reply.type === 'error' && reply.zk_error === 'SessionExpired') l.session = null;
    // Sent again, with the same path, whatever the error: a create is identified by its path.
    return { done: false, why: describeReply(target, reply) };
  });
  return outcome.done ? { ok: true, last: '' } : { ok: false, last: outcome.why };
}

export const zab_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'zab_write',
    description:
      'count writes, one after another (or from `concurrency` writers side by side, so proposals follow each other closely), each a create of a fresh persistent znode /wN with data wN in the grader\'s session: to `node`, or else to the established leader. expect ok: each must be acknowledged within timeout_ms; any: may fail; doomed: sent once to `node` without waiting (in the session an earlier write opened), and must never be delivered anywhere (see zab_expect_doomed_not_applied).',
    fields: { count: z.number().int().min(1).max(zab_writes_max), expect: z.enum(['ok', 'any', 'doomed']), timeout_ms: step_duration_ms, node: node_ref.optional(), background: z.boolean().optional(), concurrency: z.number().int().min(1).max(zab_write_concurrency_max).optional() },
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const l = ledger(ctx);
      if (l.next + step.count > zab_writes_max) ctx.fail(`a test may send at most ${zab_writes_max} zab writes`);
      const fixed = step.node ? ctx.node(step.node) : null;
      const values = Array.from({ length: step.count }, () => `w${++l.next}`);
      if (step.expect === 'doomed') {
        if (!fixed) ctx.fail('doomed writes need a node to go to');
        if (l.session === null) ctx.fail('doomed writes go in the session of an earlier zab_write step, and there is none');
        for (const value of values) {
          l.doomed.add(value);
          void ctx.supervisor.request(fixedClientId('grader_doomed_writes'), fixed!, { type: 'create', session: l.session, path: `/${value}`, data: value }, doomed_write_timeout_ms).catch(() => undefined);
        }
        return;
      }
      const work = (async () => {
        const acked: string[] = [];
        let next = 0;
        // Each writer takes the next value when its last write is answered.
        const writeNext = async () => {
          const value = values[next++]!;
          const outcome = await writeOne(ctx, l, value, fixed, Date.now() + step.timeout_ms);
          if (outcome.ok) acked.push(value);
          else if (step.expect === 'ok') ctx.fail(`write ${value} was not acknowledged within ${step.timeout_ms} ms (last: ${outcome.last})`);
        };
        const writer = async () => {
          while (next < values.length) await writeNext();
        };
        // Without a session yet, the first write opens it alone, so the writers share one session.
        if (l.session === null) await writeNext();
        await Promise.all(Array.from({ length: Math.min(step.concurrency ?? 1, values.length) }, writer));
        l.last_acked = acked;
      })();
      if (step.background) {
        ctx.background(work);
        l.pending.push(work);
      } else await work;
    },
  }),
  defineStep({
    name: 'zab_wait_writes',
    description: 'Wait for the zab_write steps left running in the background to finish (their own timeouts bound the wait).',
    fields: {},
    async run(_step, ctx) {
      const l = ledger(ctx);
      const pending = l.pending.splice(0);
      for (const work of pending) await work;
    },
  }),
  defineStep({
    name: 'zab_expect_applied_everywhere',
    description: "Every write the last zab_write step got acknowledged is applied (reported in dslab_apply) by every up server within within_ms.",
    fields: { within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const l = ledger(ctx);
      await waitWithin(ctx, step.within_ms, () => {
        const missing = upNodes(ctx).flatMap((n) => {
          const lacks = l.last_acked.filter((v) => !l.applied.get(n.id)?.has(v));
          return lacks.length ? [`${n.id} lacks ${lacks.slice(0, 5).join(', ')}${lacks.length > 5 ? ` and ${lacks.length - 5} more` : ''}`] : [];
        });
        return missing.length === 0 ? null : `acknowledged writes were not applied everywhere within ${step.within_ms} ms: ${missing.join('; ')}`;
      });
    },
  }),
  defineStep({
    name: 'zab_expect_doomed_not_applied',
    description: 'No write sent as doomed (to a leader cut off from its quorum, so never committed) was applied by any server: an old epoch\'s uncommitted txns are truncated, never delivered. Waits for_ms first.',
    fields: { for_ms: step_duration_ms },
    async run(step, ctx) {
      const l = ledger(ctx);
      if (l.doomed.size === 0) ctx.fail('zab_expect_doomed_not_applied needs a zab_write step with expect doomed before it');
      await sleep(step.for_ms);
      for (const [node, values] of l.applied) {
        const wrong = [...l.doomed].filter((v) => values.has(v));
        if (wrong.length) ctx.fail(`${node} applied ${wrong.join(', ')}, written to a leader that had lost its quorum (never committed: a follower must truncate such txns when it syncs)`);
      }
    },
  }),
  defineStep({
    name: 'zab_wait_synced',
    description: "Wait until an established leader's every up peer reports it as leader (following or observing) with the leader's committed_zxid.",
    fields: { within_ms: step_duration_ms },
    needs_state_reports: true,
    needs_leader: true,
    needs_traffic: true,
    async run(step, ctx) {
      await waitWithin(ctx, step.within_ms, () => {
        const leader = establishedLeader(ctx);
        if (!leader) return `no established leader within ${step.within_ms} ms`;
        const behind = upNodes(ctx).filter((n) => {
          if (n.id === leader.id) return false;
          const kind = roleKind(ctx.roles, roleOf(n.state));
          return n.role_stale || (kind !== 'following' && kind !== 'other') || n.state.leader !== leader.id || n.state.committed_zxid !== leader.state.committed_zxid;
        });
        if (behind.length === 0) return null;
        return `not every server synced with leader ${leader.id} (committed ${String(leader.state.committed_zxid)}) within ${step.within_ms} ms: ${behind.map((n) => `${n.id} ${String(n.state.role)} of ${String(n.state.leader)} at ${String(n.state.committed_zxid)}`).join(', ')}`;
      });
    },
  }),
  defineStep({
    name: 'zab_expect_sync_mode',
    description: 'Within within_ms, the server reports (dslab_state) following or observing with sync_mode MODE: how its leader caught it up when it last joined (DIFF, TRUNC or SNAP).',
    fields: { node: node_ref, mode: z.enum(['DIFF', 'TRUNC', 'SNAP']), within_ms: step_duration_ms },
    needs_state_reports: true,
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const node = ctx.node(step.node);
      const joined = (state: Readonly<Record<string, unknown>>) => {
        const kind = roleKind(ctx.roles, roleOf(state));
        return (kind === 'following' || kind === 'other') && state.sync_mode === step.mode;
      };
      const now = ctx.status().nodes.find((n) => n.id === node);
      if (now && now.status === 'up' && !now.role_stale && joined(now.state)) return;
      let seen: string[] = [];
      const unsubscribe = ctx.supervisor.events.subscribe((event) => {
        if (event.type === 'node_state' && event.node === node && seen.length < 20) seen.push(`${String(event.state.role)}/${String(event.state.sync_mode)}`);
      });
      try {
        await ctx.waitFor((event) => event.type === 'node_state' && event.node === node && joined(event.state), step.within_ms, `${node} to join with ${step.mode}`).catch(() => {
          seen = [...new Set(seen)];
          ctx.fail(`${node} did not report following with sync_mode ${step.mode} within ${step.within_ms} ms (it reported role/sync_mode: ${seen.join(', ') || 'nothing'})`);
        });
      } finally {
        unsubscribe();
      }
    },
  }),
];
