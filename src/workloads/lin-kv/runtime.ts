import { z } from 'zod';
import type { ActionResult } from '../../lib/control/api.js';
import { client_timeout_ms_max, client_timeout_ms_min, run_duration_ms_max, run_duration_ms_min } from '../../lib/control/api.js';
import { defineOperation, type WorkloadHost, type WorkloadRuntime } from '../../lib/plugin.js';
import { kv_clients_max, rangeClientId } from '../../lib/supervisor/client-ids.js';
import { createRng, seed_max } from '../../lib/util/prng.js';
import { formatDurationMs } from '../../lib/util/units.js';
import { UserError } from '../../lib/util/errors.js';
import { describeKvOutcome, KvClient, type KvOperation } from './client.js';
import { load_clients_max, load_rate_per_s_max, Workload } from './generator.js';

/** How often a running load reports its progress on the event stream. */
export const load_progress_interval_ms = 1000;
export const load_rate_per_s_min = 0.1;
export const load_keys_max = 1_000_000;
export { load_clients_max, load_rate_per_s_max };

const kv_op = z.object({
  f: z.enum(['read', 'write', 'cas', 'delete']),
  key: z.union([z.string(), z.number()]),
  value: z.unknown().optional(),
  from: z.unknown().optional(),
  to: z.unknown().optional(),
  create_if_not_exists: z.boolean().optional(),
});

/** The lin-kv operations the control API runs (`{type: 'workload', workload: 'lin-kv', op, args}`). */
export const lin_kv_operation_args = {
  /** One kv operation through a client with a session: sent once, again only after a definite refusal (not the leader), until timeout_ms. */
  kv: { client: z.string().regex(/^c\d+$/).optional(), op: kv_op, timeout_ms: z.number().int().min(client_timeout_ms_min).max(client_timeout_ms_max).optional() },
  load_start: {
    clients: z.number().int().min(1).max(load_clients_max),
    rate_per_s: z.number().min(load_rate_per_s_min).max(load_rate_per_s_max),
    duration_ms: z.number().int().min(run_duration_ms_min).max(run_duration_ms_max),
    keys: z.number().int().min(1).max(load_keys_max),
    history_path: z.string().nullable(),
    /** Keys are named this plus 0, 1, …; left out, the load makes up a fresh prefix. */
    key_prefix: z.string().optional(),
    seed: z.number().int().min(0).max(seed_max).optional(),
    mix: z.object({ read: z.number().min(0), write: z.number().min(0), cas: z.number().min(0) }).refine((m) => m.read + m.write + m.cas > 0, 'the operation mix needs a positive weight').optional(),
  },
  load_stop: {},
} as const;

/**
 * Binds a load's clients to the nodes as Maelstrom binds its clients: client
 * i to node i mod n, so every node serves its share of the operations (a node
 * that answers reads from a stale copy is then seen doing it). Without known
 * servers the clients go to the leader.
 */
export function bindClients(clients: readonly KvClient[], servers: readonly string[]): void {
  clients.forEach((client, i) => (client.home = servers.length > 0 ? servers[i % servers.length]! : null));
}

/**
 * lin-kv inside one supervisor: kv clients by id (a session each, one
 * operation in flight, which exactly-once dedupe by (client, seq) needs), a
 * pool of anonymous ones for `dslab kv`, and at most one running load.
 */
export function linKvRuntime(host: WorkloadHost): WorkloadRuntime {
  const clients = new Map<string, KvClient>();
  let load: Workload | null = null;

  /** The named kv client, or an idle one from the pool. */
  const kvClient = (id: string | undefined): KvClient => {
    let kv = id ? clients.get(id) : [...clients.values()].find((c) => !c.busy && !c.named);
    if (kv) return kv;
    if (clients.size >= kv_clients_max) throw new UserError(`too many kv clients (at most ${kv_clients_max})`);
    const clientId = id ?? rangeClientId('pool', clients.size);
    kv = new KvClient(host.transport, clientId, id !== undefined, `${clientId}@${host.session_tag}`);
    clients.set(clientId, kv);
    return kv;
  };

  const startLoad = (args: z.infer<z.ZodObject<typeof lin_kv_operation_args.load_start>>): ActionResult => {
    if (load) throw new UserError('a load is already running (stop it with: dslab load --stop)');
    const loadClients = Array.from({ length: args.clients }, (_, i) => kvClient(rangeClientId('workload', i)));
    bindClients(loadClients, host.servers);
    const started = new Workload(
      loadClients,
      { clients: args.clients, rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, keys: args.keys, key_prefix: args.key_prefix ?? null, history_path: args.history_path, mix: args.mix },
      createRng(args.seed ?? host.rng.int(2 ** 31)),
    );
    const options = { clients: args.clients, rate_per_s: args.rate_per_s, duration_ms: args.duration_ms, keys: args.keys, key_prefix: started.key_prefix, keys_fresh: started.keys_fresh, history_path: args.history_path };
    load = started;
    const progress = setInterval(() => host.emit({ type: 'load', phase: 'progress', stats: started.summary(), options }), load_progress_interval_ms);
    void started.done.then((stats) => {
      clearInterval(progress);
      load = null;
      host.emit({ type: 'load', phase: 'done', stats, options });
    });
    started.start();
    host.emit({ type: 'load', phase: 'start', stats: started.summary(), options });
    const keys = args.keys === 1 ? started.keyName(0) : `${started.keyName(0)} … ${started.keyName(args.keys - 1)}`;
    return {
      description: `load started: ${args.clients} clients, ${args.rate_per_s} ops/s for ${formatDurationMs(args.duration_ms)} over ${args.keys} ${started.keys_fresh ? 'fresh ' : ''}keys (${keys})`,
      key_prefix: started.key_prefix,
      keys_fresh: started.keys_fresh,
    };
  };

  return {
    operations: {
      kv: defineOperation({
        args: lin_kv_operation_args.kv,
        async run(args) {
          const op = args.op as KvOperation;
          const outcome = await kvClient(args.client).run(op, args.timeout_ms);
          return { description: describeKvOutcome(op, outcome), ...outcome };
        },
      }),
      load_start: defineOperation({ args: lin_kv_operation_args.load_start, run: startLoad }),
      load_stop: defineOperation({
        args: lin_kv_operation_args.load_stop,
        run() {
          if (!load) throw new UserError('no load is running');
          load.stop();
          return { description: 'load stopping; operations in flight finish first' };
        },
      }),
    },
    stop() {
      load?.stop();
    },
  };
}
