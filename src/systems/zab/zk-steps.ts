// The grader's ZooKeeper steps for a Zab ensemble: sessions, znodes and watches. They act on the cluster
// only through the grader's step context.

import { z } from 'zod';
import type { ClusterEvent } from '../../lib/control/api.js';
import { defineStep, node_ref, poll_interval_ms, sleep, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import { error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { errorMessage } from '../../lib/util/errors.js';
import { pollUntil } from '../../lib/util/poll.js';
import { waitWithin } from './steps.js';

/**
 * The grader's ZooKeeper steps (zk-sessions): named sessions that keep
 * themselves alive as a ZooKeeper client does (a ping every third of the
 * timeout to their server, a reconnect with `connect {session}` to another
 * server when theirs stops answering), requests in a session, and checks on
 * what servers sent unasked (watch_event, session_expired), all in the
 * coordinator's client protocol (README, Zab: client messages).
 */

/** Sessions one test may open. */
export const zk_sessions_max = 100;
/** Watch events and expiries remembered per session. */
export const zk_events_per_session_max = 1000;
/** Pause before a request refused at the door (ConnectionLoss, code 11) is sent again. */
const zk_retry_ms = 50;
/** How long one request of a poll waits for its answer. */
const zk_poll_request_ms = 2000;
/** Polls that ask every server or wait on a session's expiry ask less often. */
const zk_slow_poll_interval_ms = poll_interval_ms * 4;
/** zk_expect_event_before_data reads again almost at once: it ends at the first read that sees the new data. */
const zk_fast_poll_interval_ms = 5;

interface GraderSession {
  name: string;
  client: string;
  id: string;
  server: string;
  timeout_ms: number;
  expired: boolean;
  closed: boolean;
  /** watch_event and session_expired bodies, in the order they came, with a sequence number shared with replies. */
  events: { seq: number; body: MessageBody }[];
}

interface ZkState {
  sessions: Map<string, GraderSession>;
  /** Counts replies and unasked messages, so a check can tell which came first. */
  seq: number;
  down: boolean;
  /** Ephemerals whose session zk_close_opened closed: they must disappear (zk_expect_released_gone). */
  released: Set<string>;
  paths: Map<string, string>;
  /** Sessions zk_open_ephemeral_sessions opened, until zk_close_opened closes them. */
  opened: { client: string; node: string; id: string; path: string }[];
  /** The sequence number each reply got when it arrived (the client_result event comes at once; the awaiting step runs later). */
  reply_seq: WeakMap<object, number>;
}

const state_key = 'zk.sessions';

function zkState(ctx: StepContext): ZkState {
  return ctx.memo(state_key, () => {
    const st: ZkState = { sessions: new Map(), seq: 0, down: false, released: new Set(), paths: new Map(), reply_seq: new WeakMap(), opened: [] };
    ctx.supervisor.events.subscribe((event: ClusterEvent) => {
      if (event.type === 'cluster_down') st.down = true;
      if (event.type === 'client_result' && typeof event.reply === 'object' && event.reply !== null) st.reply_seq.set(event.reply, ++st.seq);
      if (event.type !== 'client_message') return;
      const body = event.body as MessageBody;
      if (typeof body !== 'object' || body === null) return;
      for (const s of st.sessions.values()) {
        if (s.client !== event.client || body.session !== s.id) continue;
        if (s.events.length < zk_events_per_session_max) s.events.push({ seq: ++st.seq, body });
        if (body.type === 'session_expired') s.expired = true;
      }
    });
    return st;
  });
}

const isError = (reply: MessageBody): boolean => reply.type === 'error';
const zkErrorOf = (reply: MessageBody): string | null => (reply.type === 'error' ? String(reply.zk_error ?? `code ${String(reply.code)}`) : null);
const describe = (reply: MessageBody): string => (isError(reply) ? `error ${String(reply.code)} ${String(reply.zk_error ?? '')}${reply.text ? ` (${String(reply.text)})` : ''}`.replace('  ', ' ') : JSON.stringify(reply).slice(0, 200));

async function send(ctx: StepContext, st: ZkState, client: string, node: string, body: Omit<MessageBody, 'msg_id'>, timeout_ms: number): Promise<{ reply: MessageBody; seq: number }> {
  const reply = await ctx.supervisor.request(client, node, body, timeout_ms).catch((error: unknown): MessageBody => ({ type: 'error', code: error_codes.timeout, text: errorMessage(error) }));
  return { reply, seq: st.reply_seq.get(reply) ?? ++st.seq };
}

/** A ZooKeeper client's background loop: pings, and a reconnect elsewhere when its server stops answering. */
async function keepAlive(ctx: StepContext, st: ZkState, s: GraderSession): Promise<void> {
  while (!st.down && !s.expired && !s.closed) {
    await sleep(s.timeout_ms / 3);
    if (st.down || s.expired || s.closed) return;
    const { reply } = await send(ctx, st, s.client, s.server, { type: 'ping', session: s.id }, s.timeout_ms / 3);
    if (reply.type === 'ping_ok') continue;
    if (zkErrorOf(reply) === 'SessionExpired') {
      s.expired = true;
      return;
    }
    // Its server is down, cut off or not serving: another one takes the session if it is still open.
    for (const n of ctx.status().nodes.filter((x) => x.status === 'up' && x.id !== s.server)) {
      if (st.down || s.closed) return;
      const again = await send(ctx, st, s.client, n.id, { type: 'connect', session: s.id, timeout_ms: s.timeout_ms }, s.timeout_ms / 3);
      if (again.reply.type === 'connect_ok') {
        s.server = n.id;
        break;
      }
      if (zkErrorOf(again.reply) === 'SessionExpired') {
        s.expired = true;
        return;
      }
    }
  }
}

function session(ctx: StepContext, name: string): GraderSession {
  return zkState(ctx).sessions.get(name) ?? ctx.fail(`no session named ${name} (a zk_connect step opens it)`);
}

/** "$name" in a path is a path an earlier step saved (a sequential create's). */
function resolvePath(ctx: StepContext, path: string): string {
  return path.startsWith('$') ? (zkState(ctx).paths.get(path.slice(1)) ?? ctx.fail(`no path was saved as ${path}`)) : path;
}

const zk_ops = ['create', 'delete', 'set_data', 'exists', 'get_data', 'get_children', 'sync', 'close_session'] as const;

export const zk_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'zk_connect',
    description:
      'Open a session named `session` as client `client` (an id such as c3 that a partition can isolate) at `node` (else any up server), asking for timeout_ms; it pings every third of its timeout and reconnects elsewhere when its server stops answering, until it is closed or expires.',
    fields: { session: z.string().min(1), client: z.string().regex(/^c\d+$/, 'a client id: c and a number'), node: node_ref.optional(), timeout_ms: z.number().int().min(1), within_ms: step_duration_ms },
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const st = zkState(ctx);
      if (st.sessions.has(step.session)) ctx.fail(`session ${step.session} is already open`);
      if (st.sessions.size >= zk_sessions_max) ctx.fail(`a test may open at most ${zk_sessions_max} sessions`);
      const fixed = step.node ? ctx.node(step.node) : null;
      const deadline = Date.now() + step.within_ms;
      let last = 'no server up';
      const outcome = await pollUntil<GraderSession>(deadline, zk_retry_ms, async () => {
        const up = ctx.status().nodes.filter((n) => n.status === 'up').map((n) => n.id);
        const target = fixed ?? (up.length ? ctx.rng.pick(up) : null);
        if (target && up.includes(target)) {
          const { reply } = await send(ctx, st, step.client, target, { type: 'connect', timeout_ms: step.timeout_ms }, Math.max(1, Math.min(zk_poll_request_ms, deadline - Date.now())));
          if (reply.type === 'connect_ok' && typeof reply.session === 'string') {
            const timeout = typeof reply.timeout_ms === 'number' && reply.timeout_ms > 0 ? reply.timeout_ms : step.timeout_ms;
            return { done: true, value: { name: step.session, client: step.client, id: reply.session, server: target, timeout_ms: timeout, expired: false, closed: false, events: [] } };
          }
          last = `${target}: ${describe(reply)}`;
        }
        return { done: false, why: last };
      });
      if (!outcome.done) return ctx.fail(`session ${step.session} could not connect within ${step.within_ms} ms (last: ${outcome.why})`);
      st.sessions.set(step.session, outcome.value);
      void keepAlive(ctx, st, outcome.value);
    },
  }),
  defineStep({
    name: 'zk',
    description:
      'One request in a session, to its server: create (data, ephemeral, sequential), delete, set_data, exists, get_data, get_children (watch), sync or close_session. expect ok, or the ZooKeeper error name it must fail with; equals: a field of the reply it must have (path, data, children, stat: null). Refused at the door (ConnectionLoss, 11), it is sent again until within_ms. save_path_as keeps a create\'s path.',
    fields: {
      session: z.string().min(1),
      op: z.enum(zk_ops),
      path: z.string().optional(),
      data: z.string().optional(),
      ephemeral: z.boolean().optional(),
      sequential: z.boolean().optional(),
      watch: z.boolean().optional(),
      expect: z.string().min(1),
      equals: z.record(z.string(), z.unknown()).optional(),
      save_path_as: z.string().optional(),
      within_ms: step_duration_ms,
    },
    needs_traffic: true,
    async run(step, ctx) {
      const st = zkState(ctx);
      const s = session(ctx, step.session);
      const body: Record<string, unknown> = { type: step.op, session: s.id };
      if (step.path !== undefined) body.path = resolvePath(ctx, step.path);
      for (const field of ['data', 'ephemeral', 'sequential', 'watch'] as const) if (step[field] !== undefined) body[field] = step[field];
      const deadline = Date.now() + step.within_ms;
      // Out of time, the last refusal is the reply the expectation judges (the first look always sends).
      let reply!: MessageBody;
      await pollUntil<null>(deadline, zk_retry_ms, async () => {
        ({ reply } = await send(ctx, st, s.client, s.server, body as Omit<MessageBody, 'msg_id'>, Math.max(1, deadline - Date.now())));
        const refused = reply.type === 'error' && reply.code === error_codes.temporarily_unavailable;
        return refused ? { done: false, why: describe(reply) } : { done: true, value: null };
      });
      const what = `${step.session}: ${step.op}${body.path ? ` ${String(body.path)}` : ''}`;
      if (step.expect === 'ok') {
        if (isError(reply)) ctx.fail(`${what} failed at ${s.server}: ${describe(reply)}`);
      } else if (zkErrorOf(reply) !== step.expect) {
        ctx.fail(`${what} should fail with ${step.expect}, but ${s.server} answered ${describe(reply)}`);
      }
      for (const [field, want] of Object.entries(step.equals ?? {})) {
        if (JSON.stringify(reply[field] ?? null) !== JSON.stringify(want)) ctx.fail(`${what}: ${field} is ${JSON.stringify(reply[field] ?? null)}, expected ${JSON.stringify(want)}`);
      }
      if (step.save_path_as && typeof reply.path === 'string') st.paths.set(step.save_path_as, reply.path);
      if (step.op === 'close_session' && !isError(reply)) s.closed = true;
    },
  }),
  defineStep({
    name: 'zk_open_ephemeral_sessions',
    description: 'count sessions of client `client` at `node`, each creating the ephemeral PREFIX<i>; they never ping (zk_close_opened closes them).',
    fields: { count: z.number().int().min(1).max(zk_sessions_max), client: z.string().regex(/^c\d+$/), node: node_ref, timeout_ms: z.number().int().min(1), path_prefix: z.string().startsWith('/'), within_ms: step_duration_ms },
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const st = zkState(ctx);
      const node = ctx.node(step.node);
      for (let i = 1; i <= step.count; i++) {
        const deadline = Date.now() + step.within_ms;
        // A follower still syncing with a new leader refuses (temporarily unavailable): ask again until the deadline.
        let reply!: MessageBody;
        await pollUntil<null>(deadline, zk_retry_ms, async () => {
          ({ reply } = await send(ctx, st, step.client, node, { type: 'connect', timeout_ms: step.timeout_ms }, Math.max(1, deadline - Date.now())));
          const refused = reply.type === 'error' && reply.code === error_codes.temporarily_unavailable;
          return refused ? { done: false, why: describe(reply) } : { done: true, value: null };
        });
        if (reply.type !== 'connect_ok' || typeof reply.session !== 'string') ctx.fail(`connect at ${node} failed: ${describe(reply)}`);
        const path = `${step.path_prefix}${i}`;
        const created = await send(ctx, st, step.client, node, { type: 'create', session: reply.session, path, data: '', ephemeral: true }, Math.max(1, deadline - Date.now()));
        if (created.reply.type !== 'create_ok') ctx.fail(`create ${path} at ${node} failed: ${describe(created.reply)}`);
        st.opened.push({ client: step.client, node, id: reply.session as string, path });
      }
    },
  }),
  defineStep({
    name: 'zk_close_opened',
    description: 'Each session zk_open_ephemeral_sessions opened sends close_session once, without waiting for the answer. However each close fares, every one of their ephemerals must go (zk_expect_released_gone).',
    fields: {},
    async run(_step, ctx) {
      const st = zkState(ctx);
      if (st.opened.length === 0) ctx.fail('zk_close_opened needs a zk_open_ephemeral_sessions step before it');
      for (const o of st.opened.splice(0)) {
        st.released.add(o.path);
        void send(ctx, st, o.client, o.node, { type: 'close_session', session: o.id }, 10_000);
      }
    },
  }),
  defineStep({
    name: 'zk_expect_released_gone',
    description: 'Every ephemeral of the sessions zk_close_opened closed is gone, as the session\'s server sees it, within within_ms.',
    fields: { session: z.string().min(1), within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const st = zkState(ctx);
      const s = session(ctx, step.session);
      if (st.released.size === 0) ctx.fail('zk_expect_released_gone needs a zk_close_opened step before it');
      await waitWithin(
        ctx,
        step.within_ms,
        async () => {
          const left: string[] = [];
          for (const path of st.released) {
            const { reply } = await send(ctx, st, s.client, s.server, { type: 'exists', session: s.id, path }, zk_poll_request_ms);
            if (reply.type !== 'exists_ok' || (reply.stat !== null && reply.stat !== undefined)) left.push(path);
          }
          return left.length === 0 ? null : `ephemerals of closed sessions are still there after ${step.within_ms} ms: ${left.join(', ')} (a close that never committed must leave the session to expire)`;
        },
        zk_slow_poll_interval_ms,
      );
    },
  }),
  defineStep({
    name: 'zk_expect_path',
    description: 'Poll `exists` in a session until the path is present (or absent) at the session\'s server, within within_ms.',
    fields: { session: z.string().min(1), path: z.string(), present: z.boolean(), within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const st = zkState(ctx);
      const s = session(ctx, step.session);
      const path = resolvePath(ctx, step.path);
      await waitWithin(ctx, step.within_ms, async () => {
        const { reply } = await send(ctx, st, s.client, s.server, { type: 'exists', session: s.id, path }, zk_poll_request_ms);
        let now: string;
        if (reply.type === 'exists_ok') {
          if ((reply.stat !== null && reply.stat !== undefined) === step.present) return null;
          now = step.present ? 'absent' : `still there (ephemeral owner ${String((reply.stat as Record<string, unknown>)?.ephemeralOwner ?? '?')})`;
        } else now = describe(reply);
        return `${path} should be ${step.present ? 'present' : 'gone'} at ${s.server} within ${step.within_ms} ms, but it is ${now}`;
      });
    },
  }),
  defineStep({
    name: 'zk_abandon',
    description: "A session's client stops pinging (as if it died), without closing: its server must let the leader expire it.",
    fields: { session: z.string().min(1) },
    async run(step, ctx) {
      session(ctx, step.session).closed = true;
    },
  }),
  defineStep({
    name: 'zk_expect_expired',
    description: 'The session is expired within within_ms: a request in it fails with SessionExpired (asked at its server, or any up server).',
    fields: { session: z.string().min(1), within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const st = zkState(ctx);
      const s = session(ctx, step.session);
      await waitWithin(
        ctx,
        step.within_ms,
        async () => {
          const up = ctx.status().nodes.filter((n) => n.status === 'up').map((n) => n.id);
          const at = up.includes(s.server) ? s.server : (up[0] ?? s.server);
          const { reply } = await send(ctx, st, s.client, at, { type: 'exists', session: s.id, path: '/' }, zk_poll_request_ms);
          if (zkErrorOf(reply) !== 'SessionExpired') return `session ${step.session} (${s.id}, timeout ${s.timeout_ms} ms) was not expired within ${step.within_ms} ms: ${at} answered ${describe(reply)}`;
          s.expired = true;
          return null;
        },
        zk_slow_poll_interval_ms,
      );
    },
  }),
  defineStep({
    name: 'zk_expect_watch',
    description: 'The session gets a watch_event for path (event type `event`) within within_ms; with once, no second event for that path comes in the following for_ms.',
    fields: { session: z.string().min(1), path: z.string(), event: z.enum(['NodeCreated', 'NodeDeleted', 'NodeDataChanged', 'NodeChildrenChanged']), within_ms: step_duration_ms, once_for_ms: step_duration_ms.optional() },
    async run(step, ctx) {
      const s = session(ctx, step.session);
      const path = resolvePath(ctx, step.path);
      const matching = () => s.events.filter((e) => e.body.type === 'watch_event' && e.body.path === path);
      await waitWithin(ctx, step.within_ms, () =>
        matching().some((e) => e.body.event === step.event)
          ? null
          : `${step.session} got no ${step.event} event for ${path} within ${step.within_ms} ms (events: ${matching().map((e) => String(e.body.event)).join(', ') || 'none'})`,
      );
      if (step.once_for_ms !== undefined) {
        await sleep(step.once_for_ms);
        const all = matching();
        if (all.length > 1) ctx.fail(`${step.session} got ${all.length} events for ${path} (${all.map((e) => String(e.body.event)).join(', ')}): a watch fires once`);
      }
      // Taken: a later zk_expect_watch on the same path waits for a new event.
      s.events = s.events.filter((e) => !(e.body.type === 'watch_event' && e.body.path === path));
    },
  }),
  defineStep({
    name: 'zk_expect_event_before_data',
    description:
      'Poll get_data on path in the session until its data equals `data` (written elsewhere); the watch_event for path must have reached the session before that read reply.',
    fields: { session: z.string().min(1), path: z.string(), data: z.string(), within_ms: step_duration_ms },
    needs_traffic: true,
    async run(step, ctx) {
      const st = zkState(ctx);
      const s = session(ctx, step.session);
      const path = resolvePath(ctx, step.path);
      await waitWithin(
        ctx,
        step.within_ms,
        async () => {
          const { reply, seq } = await send(ctx, st, s.client, s.server, { type: 'get_data', session: s.id, path }, zk_poll_request_ms);
          if (reply.type !== 'get_data_ok' || reply.data !== step.data) return `${path} at ${s.server} did not read ${JSON.stringify(step.data)} within ${step.within_ms} ms (last: ${describe(reply)})`;
          const event = s.events.find((e) => e.body.type === 'watch_event' && e.body.path === path);
          if (!event || event.seq > seq) ctx.fail(`${s.server} answered a read of ${path} with the new data before sending the watch event${event ? '' : ' (no event at all)'}: a client must see the event first`);
          return null;
        },
        zk_fast_poll_interval_ms,
      );
    },
  }),
];
