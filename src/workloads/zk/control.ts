// The zk workload's control operations, run inside the supervisor (`dslab zk …` sends them as
// `workload` actions): each one a ZooKeeper call on a session of the supervisor's session table.

import { z } from 'zod';
import type { ActionResult } from '../../lib/control/api.js';
import { run_duration_ms_max, run_duration_ms_min } from '../../lib/control/api.js';
import { defineOperation, type WorkloadHost, type WorkloadOperation, type WorkloadRuntime } from '../../lib/plugin.js';
import { createRng, seed_max } from '../../lib/util/prng.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { ZkLoad, zk_load_clients_max, zk_load_paths_max, zk_load_rate_per_s_max, zk_load_rate_per_s_min } from './load.js';
import { error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import type { Stat } from '../../lib/zk/client.js';
import { describeStatLine, formatIdle } from './format.js';
import { session_lease_ms_max, ZkSessionTable } from './session-table.js';
import { type ZkHost, zkHost } from './host.js';

export { type ZkHost, zkHost };

/** How long one list_sessions request waits for the leader. */
export const list_sessions_timeout_ms = 3000;
/** How long `zk sessions` keeps looking for a leader (an election may be under way). */
export const list_sessions_deadline_ms = 10_000;
/** The pause between rounds of asking every server. */
export const list_sessions_retry_pause_ms = 200;
/** The longest a `watch_events` call waits for an event (below the control API's own request timeout). */
export const watch_wait_ms_max = 60_000;
/** Redirects a list_sessions request follows (a server names the leader it knows). */
const leader_redirects_max = 3;

const path = z.string().min(1);
const session = z.string().min(1).optional();
const version = z.number().int().min(-1).optional();
const lease_ms = z.number().int().min(1).max(session_lease_ms_max).optional();

const op_args = {
  create: z.strictObject({ path, data: z.string().optional(), ephemeral: z.boolean().optional(), sequential: z.boolean().optional(), session }),
  get: z.strictObject({ path, watch: z.boolean().optional(), session }),
  set: z.strictObject({ path, data: z.string(), version, session }),
  ls: z.strictObject({ path, watch: z.boolean().optional(), session }),
  stat: z.strictObject({ path, session }),
  rm: z.strictObject({ path, version, session }),
  sync: z.strictObject({ path: path.optional(), session }),
  /** Sets a watch on the session (data, creation and deletion; or children) and says what the znode is now. */
  watch: z.strictObject({ path, children: z.boolean().optional(), session: z.string().min(1), lease_ms }),
  /** The session's watch events since the last call, waiting up to wait_ms for one. */
  watch_events: z.strictObject({ session: z.string().min(1), wait_ms: z.number().int().min(0).max(watch_wait_ms_max) }),
  session_close: z.strictObject({ session: z.string().min(1) }),
  sessions: z.strictObject({}),
} as const;

export type ZkOp = keyof typeof op_args;
export const zk_ops = Object.keys(op_args) as ZkOp[];

type Args<K extends ZkOp> = z.infer<(typeof op_args)[K]>;

function parseArgs<K extends ZkOp>(op: K, args: unknown): Args<K> {
  const parsed = op_args[op].safeParse(args);
  if (parsed.success) return parsed.data as Args<K>;
  const issue = parsed.error.issues[0]!;
  throw new UserError(`zk ${op}: ${issue.path.join('.') || 'arguments'}: ${issue.message}`);
}

/** One session as the leader's tracker reports it, with the name the supervisor holds it under. */
export interface ZkSessionRow {
  session: string;
  timeout_ms: number;
  idle_ms: number;
  server: string | null;
  /** The supervisor's name for it (`--session NAME`), when it holds it. */
  name: string | null;
  /** The supervisor's client id holding it (what `partition --isolate` names), when it holds it. */
  client: string | null;
}

export class ZkControl {
  readonly table: ZkSessionTable;

  constructor(private readonly host: ZkHost) {
    this.table = new ZkSessionTable(host);
  }

  async run(op: string, raw: Readonly<Record<string, unknown>>): Promise<ActionResult> {
    if (!(op in op_args)) throw new UserError(`zk has no operation ${op} (it has: ${zk_ops.join(', ')})`);
    switch (op as ZkOp) {
      case 'create': {
        const a = parseArgs('create', raw);
        const { path: created, stat } = await this.table.withSession(a.session, (zk) => zk.create(a.path, a.data ?? '', { ephemeral: a.ephemeral, sequential: a.sequential }));
        const kept = a.ephemeral && a.session === undefined ? ' (ephemeral: it went when this command closed its session; --session NAME keeps it)' : '';
        return { description: `created ${created}${kept}`, path: created, stat };
      }
      case 'get': {
        const a = parseArgs('get', raw);
        const { data, stat } = await this.table.withSession(a.session, (zk) => zk.getData(a.path, a.watch === true));
        return { description: data, path: a.path, data, stat };
      }
      case 'set': {
        const a = parseArgs('set', raw);
        const stat = await this.table.withSession(a.session, (zk) => zk.setData(a.path, a.data, a.version ?? -1));
        return { description: `set ${a.path}: version ${stat.version}`, path: a.path, stat };
      }
      case 'ls': {
        const a = parseArgs('ls', raw);
        const { children, stat } = await this.table.withSession(a.session, (zk) => zk.getChildrenAndStat(a.path, a.watch === true));
        return { description: children.join('\n'), path: a.path, children, stat };
      }
      case 'stat': {
        const a = parseArgs('stat', raw);
        const stat = await this.table.withSession(a.session, (zk) => zk.exists(a.path));
        if (stat === null) throw new UserError(`NoNode: no znode ${a.path}`);
        return { description: describeStatLine(a.path, stat), path: a.path, stat };
      }
      case 'rm': {
        const a = parseArgs('rm', raw);
        await this.table.withSession(a.session, (zk) => zk.delete(a.path, a.version ?? -1));
        return { description: `deleted ${a.path}`, path: a.path };
      }
      case 'sync': {
        const a = parseArgs('sync', raw);
        const result = await this.table.withSession(a.session, async (zk) => ({ zxid: await zk.sync(a.path), server: zk.server }));
        return { description: `${result.server ?? 'the server'} is up to date at zxid ${result.zxid}`, ...result };
      }
      case 'watch': {
        const a = parseArgs('watch', raw);
        const armed = await this.table.withSession(
          a.session,
          async (zk): Promise<{ stat: Stat | null; children?: string[] }> => (a.children ? zk.getChildrenAndStat(a.path, true) : { stat: await zk.exists(a.path, true) }),
          a.lease_ms,
        );
        const what = a.children ? `the children of ${a.path} (${armed.children!.length} now)` : armed.stat === null ? `${a.path} (it does not exist)` : `${a.path} (version ${armed.stat.version})`;
        return { description: `watching ${what}`, path: a.path, ...armed };
      }
      case 'watch_events': {
        const a = parseArgs('watch_events', raw);
        const taken = await this.table.takeEvents(a.session, a.wait_ms);
        if (taken.state === 'expired') throw new UserError(`SessionExpired: session ${a.session} expired`);
        return { description: taken.events.map((e) => `${e.event} ${e.path}`).join('\n'), ...taken };
      }
      case 'session_close': {
        const a = parseArgs('session_close', raw);
        const closed = await this.table.close(a.session);
        return { description: `closed session ${a.session} (${closed.session})`, ...closed };
      }
      case 'sessions': {
        parseArgs('sessions', raw);
        const sessions = await this.listSessions();
        const lines = sessions.map((s) => `${s.session}${s.name ? ` (${s.name}, client ${s.client})` : ''} on ${s.server ?? '?'}, timeout ${s.timeout_ms}ms, last ping ${formatIdle(s.idle_ms)} ago`);
        return { description: lines.join('\n'), sessions };
      }
    }
  }

  /** Every session the leader tracks (list_sessions), with the names the supervisor holds some under. */
  async listSessions(): Promise<ZkSessionRow[]> {
    const client = this.host.takeClientId();
    try {
      const reply = await this.askLeader(client, { type: 'list_sessions' });
      const rows = Array.isArray(reply['sessions']) ? (reply['sessions'] as Array<Record<string, unknown>>) : [];
      const held = new Map(this.table.list().map((h) => [h.session, h]));
      return rows.map((r) => ({
        session: String(r['session']),
        timeout_ms: Number(r['timeout_ms']),
        idle_ms: Number(r['idle_ms']),
        server: typeof r['server'] === 'string' ? r['server'] : null,
        name: held.get(String(r['session']))?.name ?? null,
        client: held.get(String(r['session']))?.client ?? null,
      }));
    } finally {
      this.host.releaseClientId(client);
    }
  }

  /**
   * Sends to the reported leader, or tries the servers in turn, following the `leader` a server names;
   * during an election (every server answers 11) it tries again until list_sessions_deadline_ms.
   */
  private async askLeader(client: string, body: MessageBody): Promise<MessageBody> {
    const deadline = this.host.now() + list_sessions_deadline_ms;
    const last = new Map<string, string>();
    for (let round = 0; round === 0 || this.host.now() < deadline; round++) {
      if (round > 0) await new Promise<void>((resolve) => this.host.after(list_sessions_retry_pause_ms, resolve));
      const leader = this.host.leader();
      const order = [...(leader !== null && this.host.servers.includes(leader) ? [leader] : []), ...this.host.servers.filter((s) => s !== leader)];
      let redirects = 0;
      for (let i = 0; i < order.length; i++) {
        const dest = order[i]!;
        let reply: MessageBody;
        try {
          reply = await this.host.request(client, dest, body, list_sessions_timeout_ms);
        } catch (error) {
          last.set(dest, errorMessage(error));
          continue;
        }
        if (reply.type !== 'error') return reply;
        last.set(dest, `${dest}: ${String(reply['text'] ?? `error ${String(reply['code'])}`)}`);
        // Anything but "not the leader, try again" is the answer (a node that does not know list_sessions).
        if (Number(reply['code']) !== error_codes.temporarily_unavailable) throw new UserError(`could not list sessions: ${last.get(dest)!}`);
        const hint = reply['leader'];
        if (typeof hint === 'string' && this.host.servers.includes(hint) && hint !== dest && redirects < leader_redirects_max) {
          redirects++;
          order.splice(i + 1, 0, hint);
        }
      }
    }
    throw new UserError(`could not list sessions: ${[...last.values()].join('; ') || 'no server answered'}`);
  }

  shutdown(): Promise<void> {
    return this.table.shutdown();
  }
}

/** How often a running zk load reports its progress on the event stream. */
export const zk_load_progress_interval_ms = 1000;

/** `dslab zk load`'s operations: start (the supervisor's rng seeds it unless a seed is given) and stop. */
export const zk_load_args = {
  load_start: {
    clients: z.number().int().min(1).max(zk_load_clients_max),
    rate_per_s: z.number().min(zk_load_rate_per_s_min).max(zk_load_rate_per_s_max),
    duration_ms: z.number().int().min(run_duration_ms_min).max(run_duration_ms_max),
    paths: z.number().int().min(1).max(zk_load_paths_max),
    history_path: z.string().nullable(),
    seed: z.number().int().min(0).max(seed_max).optional(),
  },
  load_stop: {},
} as const;

/** The zk workload inside a supervisor: each operation's arguments checked by its schema, then run on the session table; and its load. */
export function zkRuntime(host: WorkloadHost): WorkloadRuntime {
  const narrowed = zkHost(host);
  const control = new ZkControl(narrowed);
  const operations: Record<string, WorkloadOperation> = {};
  for (const op of zk_ops) operations[op] = { args: op_args[op], run: (args) => control.run(op, args) };
  let load: ZkLoad | null = null;
  operations.load_start = defineOperation({
    args: zk_load_args.load_start,
    async run(args) {
      if (load) throw new UserError('a zk load is already running (stop it with: dslab zk load --stop)');
      const started = new ZkLoad(narrowed, { clients: args.clients, rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, paths: args.paths, history_path: args.history_path }, createRng(args.seed ?? host.rng.int(2 ** 31)));
      load = started;
      try {
        await started.start();
      } catch (error) {
        load = null;
        throw error;
      }
      const options = { clients: args.clients, rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, keys: args.paths, key_prefix: `${started.parent}/p`, keys_fresh: true, history_path: args.history_path };
      const progress = setInterval(() => host.emit({ type: 'load', phase: 'progress', stats: started.summary(), options }), zk_load_progress_interval_ms);
      void started.done.then((stats) => {
        clearInterval(progress);
        load = null;
        host.emit({ type: 'load', phase: 'done', stats, options });
      });
      host.emit({ type: 'load', phase: 'start', stats: started.summary(), options });
      const paths = started.paths();
      return {
        description: `zk load started: ${args.clients} sessions, ${args.rate_per_s} ops/s for ${formatDurationMs(args.duration_ms)} over ${paths.length} fresh znodes (${paths.length === 1 ? paths[0] : `${paths[0]} … ${paths.at(-1)}`})`,
        parent: started.parent,
        paths,
      };
    },
  });
  operations.load_stop = defineOperation({
    args: zk_load_args.load_stop,
    run() {
      if (!load) throw new UserError('no zk load is running');
      load.stop();
      return { description: 'zk load stopping; calls in flight finish first' };
    },
  });
  return {
    operations,
    stop: () => {
      // Calls in flight finish on their own; the load then closes its sessions.
      load?.stop();
      return control.shutdown();
    },
  };
}
