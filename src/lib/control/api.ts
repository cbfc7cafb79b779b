import { z } from 'zod';
import type { SystemView } from '../view.js';
import { nemesisFaultCount, nemesis_steps_max } from '../faults/nemesis-budget.js';
import type { LinkFaults } from '../faults/fault-model.js';
import type { AppFault } from '../faults/app-fault.js';
import { seed_max } from '../util/prng.js';
import type { LoadStats } from '../load-stats.js';
import type { ServerMemberStatus } from '../proxy/server-member.js';

/**
 * The control API: every command, the dashboard, graders and the nemesis change
 * a cluster through these actions. One schema serves the server's validation
 * and the client's types.
 */

// Limits on what an action may ask for. The schema enforces them and the CLI
// names them in its own messages (and --help), so they are stated once, here.
export const node_ref_chars_max = 64;
/** Link delay and jitter. */
export const link_delay_ms_max = 600_000;
/** Clock skew, either way. */
export const clock_offset_ms_max = 86_400_000;
export const nemesis_interval_ms_min = 100;
export const nemesis_interval_ms_max = 3_600_000;
/** How long a nemesis or a workload may run. */
export const run_duration_ms_min = 100;
export const run_duration_ms_max = 86_400_000;
/** How long a client request (send, kv, transfer) may wait for its answer. */
export const client_timeout_ms_min = 1;
export const client_timeout_ms_max = 600_000;
/** Workload and operation names in a `workload` action. */
export const workload_name_chars_max = 64;
/** Latency an application fault (`dslab fail --latency`) adds to each answer. */
export const app_latency_ms_max = 600_000;
export { nemesis_steps_max, seed_max };

const nodeRef = z.string().min(1).max(node_ref_chars_max);
const seed = z.number().int().min(0).max(seed_max);
const clientTimeout = z.number().int().min(client_timeout_ms_min).max(client_timeout_ms_max);
const runDuration = z.number().int().min(run_duration_ms_min).max(run_duration_ms_max);

export const controlActionSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('partition'),
    groups: z.array(z.array(z.string().max(node_ref_chars_max))).optional(),
    random: z.boolean().optional(),
    isolate: nodeRef.optional(),
    /** A directed partition: each receiver and the nodes whose messages it drops (Maelstrom's majorities ring). */
    drops: z.record(z.string().max(node_ref_chars_max), z.array(z.string().max(node_ref_chars_max))).optional(),
  }),
  z.object({ type: z.literal('heal') }),
  z.object({ type: z.literal('kill'), node: nodeRef }),
  z.object({ type: z.literal('restart'), node: nodeRef }),
  z.object({ type: z.literal('pause'), node: nodeRef }),
  z.object({ type: z.literal('resume'), node: nodeRef }),
  z.object({
    type: z.literal('link_faults'),
    link: z.string().optional(),
    delay_ms: z.number().min(0).max(link_delay_ms_max).optional(),
    jitter_ms: z.number().min(0).max(link_delay_ms_max).optional(),
    loss: z.number().min(0).max(1).optional(),
    duplicate: z.number().min(0).max(1).optional(),
    reorder: z.number().min(0).max(1).optional(),
  }),
  /** An application fault on a node that declared dslab_fail (all zero and false: none). */
  z.object({ type: z.literal('fail'), node: nodeRef, errors_pct: z.number().min(0).max(100), latency_ms: z.number().int().min(0).max(app_latency_ms_max), hang: z.boolean() }),
  z.object({ type: z.literal('skew'), node: nodeRef, offset_ms: z.number().int().min(-clock_offset_ms_max).max(clock_offset_ms_max) }),
  z
    .object({
      type: z.literal('nemesis_start'),
      interval_ms: z.number().int().min(nemesis_interval_ms_min).max(nemesis_interval_ms_max),
      duration_ms: runDuration,
      seed,
    })
    .refine((a) => nemesisFaultCount(a.interval_ms, a.duration_ms) <= nemesis_steps_max, `a nemesis may inject at most ${nemesis_steps_max} faults (duration / interval)`),
  z.object({ type: z.literal('nemesis_stop') }),
  z.object({ type: z.literal('send'), dest: nodeRef, body: z.looseObject({ type: z.string() }), timeout_ms: clientTimeout.optional() }),
  /** One of a workload's operations (WorkloadRuntime.operations): the workload checks its args. */
  z.object({ type: z.literal('workload'), workload: z.string().min(1).max(workload_name_chars_max), op: z.string().min(1).max(workload_name_chars_max), args: z.record(z.string(), z.unknown()).optional() }),
  z.object({ type: z.literal('transfer'), node: nodeRef, timeout_ms: clientTimeout.optional() }),
  z.object({ type: z.literal('down') }),
]);

export type ControlAction = z.infer<typeof controlActionSchema>;

export type NodeStatusKind = 'starting' | 'up' | 'down' | 'paused';

/** Who stopped a node that did not stop on its own: `dslab kill`, the nemesis, or dslab stopping the whole cluster (`down`, a failed start). */
export type NodeStopper = 'kill' | 'nemesis' | 'cluster_stop';

export interface NodeStatus {
  id: string;
  /** The node group it belongs to ("nodes" in a single-group cluster). Absent in statuses from older versions. */
  group?: string;
  pid: number | null;
  status: NodeStatusKind;
  exit_code: number | null;
  exit_signal: string | null;
  restarts: number;
  msgs_in: number;
  msgs_out: number;
  /** Of msgs_out, messages the node passed on to another node under a client's id (Maelstrom-style forwarding). */
  forwarded: number;
  /** Lines that were not valid protocol JSON. */
  garbage_lines: number;
  oversized_lines: number;
  unknown_dest: number;
  /** Messages dropped because the node stopped reading its stdin. */
  backpressure_drops: number;
  clock_offset_ms: number;
  state: Record<string, unknown>;
  state_at_ms: number | null;
  /** True when state.role is the last word of an earlier process: the node restarted and has not reported a role since. */
  role_stale: boolean;
  stderr_tail: string[];
  /** Set when the supervisor stopped the node's last process (it did not crash); null otherwise or while it runs. Absent from older supervisors. */
  stopped_by?: NodeStopper | null;
}

export interface LinkStatus {
  link: string;
  delivered: number;
  dropped: number;
  duplicated: number;
}

export interface ServiceStatus {
  /** lin-kv, seq-kv, lww-kv or lin-tso. */
  name: string;
  /** Requests that reached the service (after link faults). */
  msgs_in: number;
  /** Replies it sent (link faults still apply on the way back). */
  msgs_out: number;
  /** Replies that were errors (missing key, failed cas, malformed request, …). */
  errors: number;
  /** Messages it did not answer: replies sent to it. */
  ignored: number;
}

/** One real server in `status`: its process, and the traffic of each node's proxy to it. */
export interface ServerRow extends ServerMemberStatus {
  group: string;
}

export interface ClusterStatus {
  name: string;
  system: string;
  /** The system's role vocabulary and dashboard columns. Absent in statuses from older versions. */
  view?: SystemView;
  dir: string;
  supervisor_pid: number;
  seed: number;
  started_at_ms: number;
  uptime_ms: number;
  nodes: NodeStatus[];
  /** Every fault in force, in words (for people). */
  faults: string[];
  partition: string[][] | null;
  /** Every fault in force, as data (for programs). */
  active_faults: ActiveFaults;
  links: LinkStatus[];
  /** Maelstrom's built-in services and their traffic. Absent in statuses from older versions. */
  services?: ServiceStatus[];
  /** Real servers (server groups' members) and each node's proxied link to them. Absent in statuses from older versions. */
  servers?: ServerRow[];
  /** Messages nodes sent clients that settled no request: late replies (dropped) and unasked ones (to the client's inbox). Absent in older versions. */
  client_messages?: { late_replies_dropped: number; unasked: number; inbox_dropped: number };
  /** The leader as roles.ts defines it: a live node reporting a leading role, else the node inferred from client replies. */
  leader: string | null;
  /** True when `leader` is a guess from client replies (no node reports a leading role). */
  leader_inferred: boolean;
  nemesis: { seed: number; running: boolean } | null;
  trace: { path: string; bytes: number; truncated: boolean };
  /** The Zab servers' ZooKeeper client ports and the connections on them; absent in a cluster without Zab servers (and from older versions). */
  zk?: ZkClientPorts;
}

/** ZooKeeper clients' way into a cluster: a loopback port on each Zab server, and the connections open on them. */
export interface ZkClientPorts {
  /** What a ZooKeeper client takes: 127.0.0.1:P1,127.0.0.1:P2,… in server order. */
  connect_string: string;
  ports: ZkClientPort[];
  connections: ZkClientConnection[];
}

export interface ZkClientPort {
  server: string;
  port: number;
  /** Connections open on it now. */
  connections: number;
}

/** One client's TCP connection to a Zab server's port: a router endpoint of its own, as faults name it. */
export interface ZkClientConnection {
  /** Its endpoint id (a client id: `dslab partition --isolate` takes it). */
  id: string;
  server: string;
  port: number;
  /** The client's own port (what `ss` or the client's log shows), to tell connections apart. */
  remote_port: number;
  /** When it was accepted (ms since the epoch). */
  since_ms: number;
}

/** One fault action as data; the event's `description` says the same in words. */
export type FaultDetail =
  /** `drops` for a directed partition (groups then empty): each receiver and whom it drops. */
  | { action: 'partition'; groups: string[][]; drops?: Record<string, string[]> }
  | { action: 'heal' }
  | { action: 'kill' | 'restart' | 'pause' | 'resume'; node: string }
  /** `link` null: every link. Only the fields the action set are present. */
  | ({ action: 'link_faults'; link: [string, string] | null } & Partial<LinkFaults>)
  | { action: 'skew'; node: string; offset_ms: number }
  /** An application fault (`dslab fail`); all zero and false: cleared. */
  | ({ action: 'fail'; node: string } & AppFault)
  | { action: 'transfer'; from: string; to: string };

/** Link faults in force on every link (`link` null) or on one link ("n1-n2"), with every field. */
export interface LinkFaultsInForce {
  link: string | null;
  faults: LinkFaults;
}

/** Every fault in force, as data. */
export interface ActiveFaults {
  partition: string[][] | null;
  /** Every link's faults first, then each link's own; links with no faults are left out. */
  links: LinkFaultsInForce[];
  paused: string[];
  /** Clock offsets of the nodes whose clocks are skewed. */
  clock_offsets_ms: Record<string, number>;
  /** Application faults (`dslab fail`) in force, by node; absent when there are none (and from older supervisors). */
  app_faults?: Record<string, AppFault>;
}

export interface ActionResult {
  /** What was done, in words, e.g. "killed n3 (leader)". */
  description: string;
  [field: string]: unknown;
}

/**
 * What a node did wrong, as data (node_misbehaved's `data`); `line` is the
 * start of the offending output line.
 */
export type MisbehaviourData =
  /** A line dslab cannot read as a message; `reason` is the parser's ("not JSON", "missing \"src\"", …). */
  | { kind: 'unreadable'; reason: string; line: string }
  /** A message whose src is neither the node's id nor a known client's. */
  | { kind: 'wrong_src'; claimed: string; line: string }
  /** A message forwarded under a client's id to somewhere that is not another node. */
  | { kind: 'bad_forward'; client: string; dest: string; line: string }
  | { kind: 'oversized'; chars: number; limit_bytes: number }
  /** A message to a name that is no node, client or service; `server` when it names a real server (reached over TCP, not by messages). */
  | { kind: 'unknown_dest'; dest: string; line: string; server?: boolean }
  | { kind: 'unknown_extension'; extension: string }
  | { kind: 'backpressure' };

/** Events on the NDJSON stream. `t` is milliseconds since the epoch. */
export type ClusterEvent = { t: number; seq: number } & (
  /** `groups`: the node groups and their members, in order (absent from older supervisors: one group). */
  | { type: 'cluster_up'; name: string; system: string; nodes: string[]; seed: number; view?: SystemView; /** Where ZooKeeper clients connect, when the cluster has Zab servers. */ zk_connect_string?: string; groups?: { name: string; nodes: string[]; /** A server group's kind ('redis'). */ server?: string }[] }
  | { type: 'cluster_down'; name: string }
  | { type: 'node_up'; node: string; pid: number; restarts: number }
  | { type: 'node_down'; node: string; exit_code: number | null; signal: string | null; stderr_tail: string[]; expected: boolean }
  | { type: 'node_paused'; node: string }
  | { type: 'node_resumed'; node: string }
  | { type: 'node_state'; node: string; state: Record<string, unknown> }
  | { type: 'node_apply'; node: string; index: unknown; term: unknown; op: unknown }
  /** A node's own sentence for the log (the dslab_note extension): "opened: 12 of 20 calls failed …". */
  | { type: 'node_note'; node: string; text: string }
  /** `detail` says what went wrong in words; `data` says it as data (absent in older recordings). */
  | { type: 'node_misbehaved'; node: string; problem: 'garbage' | 'oversized' | 'unknown_dest' | 'backpressure'; detail: string; count: number; data?: MisbehaviourData }
  | {
      type: 'fault';
      action: FaultDetail['action'];
      /** What was done, as data. */
      fault: FaultDetail;
      description: string;
      /** Every fault in force afterwards, in words. */
      faults: string[];
      /** Every fault in force afterwards, as data. */
      active: ActiveFaults;
      source: 'cli' | 'nemesis';
    }
  | {
      type: 'rates';
      interval_ms: number;
      nodes: Record<string, { in_per_s: number; out_per_s: number }>;
      dropped_per_s: number;
      /** heard_from[dest][src]: when the router last delivered a message from src to dest (ms since the epoch). Absent in older recordings. */
      heard_from?: Record<string, Record<string, number>>;
      /**
       * The busiest links of the interval, busiest first (at most rates_links_max): messages delivered per
       * second between two endpoints (nodes, services), or between one and the clients taken together
       * (`src` or `dest` null). Only links that carried messages. Absent in older recordings.
       */
      links?: { src: string | null; dest: string | null; per_s: number }[];
      /** How many links carried messages in the interval, `links` or not. Absent in older recordings. */
      links_active?: number;
    }
  | {
      type: 'client_result';
      client: string;
      /** The node the request was sent to. */
      dest: string;
      /** The node that answered: another node than dest when dest forwarded the request. Absent without a reply and in older recordings. */
      replied_by?: string;
      request: unknown;
      reply: unknown;
      call_ms: number;
      return_ms: number | null;
    }
  /** A ZooKeeper client's connection to a Zab server's port opened or closed (`reason`: who closed it, in words). */
  | { type: 'zk_connection'; phase: 'open' | 'closed'; client: string; server: string; port: number; remote_port: number; reason?: string }
  /** A node sent a client a message that answers none of its requests (a watch event, a session expiry). */
  | { type: 'client_message'; client: string; node: string; body: unknown }
  /** The leader guessed from client replies changed (null: no guess any more), for systems whose nodes report no role. */
  | { type: 'leader_inferred'; node: string | null; reason: string }
  | { type: 'nemesis'; phase: 'start' | 'done' | 'stopped'; seed: number }
  | { type: 'notice'; text: string }
  | { type: 'load'; phase: 'start' | 'progress' | 'done'; stats: LoadStats; options: { clients: number; rate_per_s: number; duration_ms: number; keys: number; history_path: string | null; key_prefix?: string; keys_fresh?: boolean } }
);

export type ClusterEventType = ClusterEvent['type'];

/** Distributive Omit, so each event variant keeps its own fields. */
export type NewClusterEvent = ClusterEvent extends infer E ? (E extends unknown ? Omit<E, 't' | 'seq'> : never) : never;
