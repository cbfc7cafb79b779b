import { z } from 'zod';
import type { ClusterEvent, NodeStatus } from '../../lib/control/api.js';
import { defineStep, node_ref, poll_interval_ms, sleep, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import { error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { isEstablishedLeader, roleKind, roleOf, termOf } from '../../lib/roles.js';
import { fixedClientId } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';

/**
 * The grader's Zab steps. They write through `zab_write {value}` (answered
 * `zab_write_ok {zxid}` once the server the client asked has delivered it) and
 * read what servers report: `dslab_apply` (each delivered txn, its op carrying
 * the written `value`) and `dslab_state` (role, leader, committed_zxid,
 * sync_mode).
 */

/** Writes a test may send through zab_write steps, in all. */
export const zab_writes_max = 10_000;
/** Values remembered per server from its dslab_apply reports. */
export const applied_values_max = 100_000;
/** How long one zab_write request waits for its answer before it is sent again. */
const write_attempt_ms_max = 2000;
/** A doomed write waits this long for an answer it is not expected to get. */
const doomed_write_timeout_ms = 1000;
/** Pause before a refused write is tried again (no leader yet, or the one asked is not it). */
const write_retry_ms = 50;

/** What one test's zab_write steps sent and what the servers applied. */
interface WriteLedger {
  next: number;
  /** Acknowledged values and the zxid each was acknowledged at. */
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

/** The value a dslab_apply op carries: `value` (a student's node) or `txn.value` (dslab's Zab host). */
export function appliedValue(op: unknown): string | null {
  if (typeof op !== 'object' || op === null) return null;
  const o = op as Record<string, unknown>;
  if (typeof o.value === 'string') return o.value;
  const txn = o.txn;
  if (typeof txn === 'object' && txn !== null && typeof (txn as Record<string, unknown>).value === 'string') return (txn as Record<string, unknown>).value as string;
  return null;
}

function ledger(ctx: StepContext): WriteLedger {
  return ctx.memo(ledger_key, () => {
    const l: WriteLedger = { next: 0, acked: new Map(), last_acked: [], doomed: new Set(), applied: new Map(), pending: [] };
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

/** One write, sent (again) until it is acknowledged or the deadline passes; true when acknowledged. */
async function writeOne(ctx: StepContext, l: WriteLedger, value: string, fixed: string | null, deadline_ms: number): Promise<{ ok: boolean; last: string }> {
  let hint: string | null = null;
  let last = 'no server to ask';
  while (Date.now() < deadline_ms) {
    const up = upNodes(ctx).map((n) => n.id);
    const target: string | null = fixed ?? (hint && up.includes(hint) ? hint : (establishedLeader(ctx)?.id ?? (up.length ? ctx.rng.pick(up) : null)));
    hint = null;
    if (!target || !up.includes(target)) {
      last = target ? `${target} is not up` : 'no server is up';
      await sleep(write_retry_ms);
      continue;
    }
    const wait = Math.max(1, Math.min(write_attempt_ms_max, deadline_ms - Date.now()));
    const reply: MessageBody = await ctx.supervisor.request(fixedClientId('grader_zab_writes'), target, { type: 'zab_write', value }, wait).catch((error: unknown): MessageBody => ({ type: 'error', code: error_codes.timeout, text: errorMessage(error) }));
    if (reply.type === 'zab_write_ok') {
      l.acked.set(value, typeof reply.zxid === 'string' ? reply.zxid : '?');
      return { ok: true, last: '' };
    }
    last = `${target} answered ${reply.type === 'error' ? `error ${String(reply.code)}${reply.text ? ` (${String(reply.text)})` : ''}` : reply.type}`;
    if (reply.type === 'error' && typeof reply.leader === 'string') hint = reply.leader;
    // Sent again, with the same value, whatever the error: a write is identified by its value, and
    // one that did happen after all is simply delivered twice (the checks look at sets of values).
    await sleep(write_retry_ms);
  }
  return { ok: false, last };
}

export const zab_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'zab_write',
    description:
      'count zab_write requests with fresh values, one after another: to `node` (without following hints) or else to the established leader. expect ok: each must be acknowledged within timeout_ms; any: may fail; doomed: sent once to `node` without waiting, and must never be delivered anywhere (see zab_expect_doomed_not_applied).',
    fields: { count: z.number().int().min(1).max(zab_writes_max), expect: z.enum(['ok', 'any', 'doomed']), timeout_ms: step_duration_ms, node: node_ref.optional(), background: z.boolean().optional() },
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const l = ledger(ctx);
      if (l.next + step.count > zab_writes_max) ctx.fail(`a test may send at most ${zab_writes_max} zab writes`);
      const fixed = step.node ? ctx.node(step.node) : null;
      const values = Array.from({ length: step.count }, () => `w${++l.next}`);
      if (step.expect === 'doomed') {
        if (!fixed) ctx.fail('doomed writes need a node to go to');
        for (const value of values) {
          l.doomed.add(value);
          void ctx.supervisor.request(fixedClientId('grader_doomed_writes'), fixed!, { type: 'zab_write', value }, doomed_write_timeout_ms).catch(() => undefined);
        }
        return;
      }
      const work = (async () => {
        const acked: string[] = [];
        for (const value of values) {
          const outcome = await writeOne(ctx, l, value, fixed, Date.now() + step.timeout_ms);
          if (outcome.ok) acked.push(value);
          else if (step.expect === 'ok') ctx.fail(`write ${value} was not acknowledged within ${step.timeout_ms} ms (last: ${outcome.last})`);
        }
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
      const deadline = Date.now() + step.within_ms;
      for (;;) {
        const missing = upNodes(ctx).flatMap((n) => {
          const lacks = l.last_acked.filter((v) => !l.applied.get(n.id)?.has(v));
          return lacks.length ? [`${n.id} lacks ${lacks.slice(0, 5).join(', ')}${lacks.length > 5 ? ` and ${lacks.length - 5} more` : ''}`] : [];
        });
        if (missing.length === 0) return;
        if (Date.now() > deadline) ctx.fail(`acknowledged writes were not applied everywhere within ${step.within_ms} ms: ${missing.join('; ')}`);
        await sleep(poll_interval_ms);
      }
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
      const deadline = Date.now() + step.within_ms;
      for (;;) {
        const leader = establishedLeader(ctx);
        const behind = leader
          ? upNodes(ctx).filter((n) => {
              if (n.id === leader.id) return false;
              const kind = roleKind(ctx.roles, roleOf(n.state));
              return n.role_stale || (kind !== 'following' && kind !== 'other') || n.state.leader !== leader.id || n.state.committed_zxid !== leader.state.committed_zxid;
            })
          : [];
        if (leader && behind.length === 0) return;
        if (Date.now() > deadline) {
          ctx.fail(
            leader
              ? `not every server synced with leader ${leader.id} (committed ${String(leader.state.committed_zxid)}) within ${step.within_ms} ms: ${behind.map((n) => `${n.id} ${String(n.state.role)} of ${String(n.state.leader)} at ${String(n.state.committed_zxid)}`).join(', ')}`
              : `no established leader within ${step.within_ms} ms`,
          );
        }
        await sleep(poll_interval_ms);
      }
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
