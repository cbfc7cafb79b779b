import { z } from 'zod';
import type { LoadStats } from '../workload/load.js';

/**
 * The control API: every command, the dashboard, graders and the nemesis change
 * a cluster through these actions. One schema serves the server's validation
 * and the client's types.
 */

const nodeRef = z.string().min(1).max(64);

export const controlActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('partition'), groups: z.array(z.string()).optional(), random: z.boolean().optional(), isolate: nodeRef.optional() }),
  z.object({ type: z.literal('heal') }),
  z.object({ type: z.literal('kill'), node: nodeRef }),
  z.object({ type: z.literal('restart'), node: nodeRef }),
  z.object({ type: z.literal('pause'), node: nodeRef }),
  z.object({ type: z.literal('resume'), node: nodeRef }),
  z.object({
    type: z.literal('link_faults'),
    link: z.string().optional(),
    delay_ms: z.number().min(0).max(600_000).optional(),
    jitter_ms: z.number().min(0).max(600_000).optional(),
    loss: z.number().min(0).max(1).optional(),
    duplicate: z.number().min(0).max(1).optional(),
    reorder: z.number().min(0).max(1).optional(),
  }),
  z.object({ type: z.literal('skew'), node: nodeRef, offset_ms: z.number().int().min(-86_400_000).max(86_400_000) }),
  z.object({
    type: z.literal('nemesis_start'),
    interval_ms: z.number().int().min(100).max(3_600_000),
    duration_ms: z.number().int().min(100).max(86_400_000),
    seed: z.number().int().min(0),
  }),
  z.object({ type: z.literal('nemesis_stop') }),
  z.object({ type: z.literal('send'), dest: nodeRef, body: z.looseObject({ type: z.string() }), timeout_ms: z.number().int().min(1).max(600_000).optional() }),
  z.object({
    type: z.literal('kv'),
    client: z.string().regex(/^c\d+$/).optional(),
    op: z.object({
      f: z.enum(['read', 'write', 'cas', 'delete']),
      key: z.union([z.string(), z.number()]),
      value: z.unknown().optional(),
      from: z.unknown().optional(),
      to: z.unknown().optional(),
      create_if_not_exists: z.boolean().optional(),
    }),
    timeout_ms: z.number().int().min(1).max(600_000).optional(),
  }),
  z.object({ type: z.literal('transfer'), node: nodeRef, timeout_ms: z.number().int().min(1).max(600_000).optional() }),
  z.object({
    type: z.literal('load_start'),
    clients: z.number().int().min(1).max(200),
    rate_per_s: z.number().min(0.1).max(100_000),
    duration_ms: z.number().int().min(100).max(86_400_000),
    keys: z.number().int().min(1).max(1_000_000),
    history_path: z.string().nullable(),
    seed: z.number().int().min(0).optional(),
    mix: z.object({ read: z.number().min(0), write: z.number().min(0), cas: z.number().min(0) }).refine((m) => m.read + m.write + m.cas > 0, 'the operation mix needs a positive weight').optional(),
  }),
  z.object({ type: z.literal('load_stop') }),
  z.object({ type: z.literal('down') }),
]);

export type ControlAction = z.infer<typeof controlActionSchema>;

export type NodeStatusKind = 'starting' | 'up' | 'down' | 'paused';

export interface NodeStatus {
  id: string;
  pid: number | null;
  status: NodeStatusKind;
  exit_code: number | null;
  exit_signal: string | null;
  restarts: number;
  msgs_in: number;
  msgs_out: number;
  /** Lines that were not valid protocol JSON. */
  garbage_lines: number;
  oversized_lines: number;
  unknown_dest: number;
  /** Messages dropped because the node stopped reading its stdin. */
  backpressure_drops: number;
  clock_offset_ms: number;
  state: Record<string, unknown>;
  state_at_ms: number | null;
  stderr_tail: string[];
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

export interface ClusterStatus {
  name: string;
  system: string;
  dir: string;
  supervisor_pid: number;
  seed: number;
  started_at_ms: number;
  uptime_ms: number;
  nodes: NodeStatus[];
  faults: string[];
  partition: string[][] | null;
  links: LinkStatus[];
  /** Maelstrom's built-in services and their traffic. Absent in statuses from older versions. */
  services?: ServiceStatus[];
  leader: string | null;
  nemesis: { seed: number; running: boolean } | null;
  trace: { path: string; bytes: number; truncated: boolean };
}

export interface ActionResult {
  /** What was done, in words, e.g. "killed n3 (leader)". */
  description: string;
  [field: string]: unknown;
}

/** Events on the NDJSON stream. `t` is milliseconds since the epoch. */
export type ClusterEvent = { t: number; seq: number } & (
  | { type: 'cluster_up'; name: string; system: string; nodes: string[]; seed: number }
  | { type: 'cluster_down'; name: string }
  | { type: 'node_up'; node: string; pid: number; restarts: number }
  | { type: 'node_down'; node: string; exit_code: number | null; signal: string | null; stderr_tail: string[]; expected: boolean }
  | { type: 'node_paused'; node: string }
  | { type: 'node_resumed'; node: string }
  | { type: 'node_state'; node: string; state: Record<string, unknown> }
  | { type: 'node_apply'; node: string; index: unknown; term: unknown; op: unknown }
  | { type: 'node_misbehaved'; node: string; problem: 'garbage' | 'oversized' | 'unknown_dest' | 'backpressure'; detail: string; count: number }
  | { type: 'fault'; action: string; description: string; faults: string[]; source: 'cli' | 'nemesis' }
  | {
      type: 'rates';
      interval_ms: number;
      nodes: Record<string, { in_per_s: number; out_per_s: number }>;
      dropped_per_s: number;
      /** heard_from[dest][src]: when the router last delivered a message from src to dest (ms since the epoch). Absent in older recordings. */
      heard_from?: Record<string, Record<string, number>>;
    }
  | { type: 'client_result'; client: string; dest: string; request: unknown; reply: unknown; call_ms: number; return_ms: number | null }
  | { type: 'nemesis'; phase: 'start' | 'done' | 'stopped'; seed: number }
  | { type: 'notice'; text: string }
  | { type: 'load'; phase: 'start' | 'progress' | 'done'; stats: LoadStats; options: { clients: number; rate_per_s: number; duration_ms: number; keys: number; history_path: string | null } }
);

export type ClusterEventType = ClusterEvent['type'];

/** Distributive Omit, so each event variant keeps its own fields. */
export type NewClusterEvent = ClusterEvent extends infer E ? (E extends unknown ? Omit<E, 't' | 'seq'> : never) : never;
