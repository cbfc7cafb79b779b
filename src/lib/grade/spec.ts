import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { generate_clients_max } from '../supervisor/client-ids.js';
import { UserError } from '../util/errors.js';

/**
 * Node references in steps: an id (n3), "leader", "follower" (a random up node
 * that is not the leader), "random", or "$name" for a node an earlier step saved.
 *
 * A lab is a folder under labs/: README.md, spec.json (tests as steps and
 * checks, below), starter code. Adding a lab needs no code change: the steps
 * and checks form a small vocabulary the grader interprets.
 */

const nodeRef = z.string().min(1);
const duration = z.number().int().min(0).max(600_000);

export const stepSchema = z.discriminatedUnion('do', [
  /** Wait until one node leads with a quorum of up nodes agreeing (same leader, same term). Saves it as "$leader". */
  z.object({ do: z.literal('wait_leader'), within_ms: duration, save_as: z.string().optional(), different_from: z.string().optional() }),
  /** No node may become leader in a term above the highest seen so far, for the whole window. */
  z.object({ do: z.literal('expect_no_new_leader'), for_ms: duration }),
  /** The current leader and its term stay the same for the whole window. */
  z.object({ do: z.literal('expect_leader_stable'), for_ms: duration }),
  z.object({ do: z.literal('sleep'), ms: duration }),
  /** Save a node under a name without touching it ("follower" or "random"), other than the nodes in `not`, so later steps can single it out. */
  z.object({ do: z.literal('pick'), node: nodeRef, save_as: z.string().min(1), not: z.array(nodeRef).optional() }),
  z.object({ do: z.literal('kill'), node: nodeRef, save_as: z.string().optional() }),
  z.object({ do: z.literal('restart'), node: nodeRef }),
  z.object({ do: z.literal('restart_all') }),
  z.object({ do: z.literal('kill_all') }),
  z.object({ do: z.literal('pause'), node: nodeRef, save_as: z.string().optional() }),
  z.object({ do: z.literal('resume'), node: nodeRef }),
  z.object({ do: z.literal('partition'), groups: z.array(z.string()).optional(), isolate: nodeRef.optional(), save_as: z.string().optional() }),
  z.object({ do: z.literal('heal') }),
  z.object({ do: z.literal('link_faults'), delay_ms: duration.optional(), jitter_ms: duration.optional(), loss: z.number().min(0).max(1).optional(), duplicate: z.number().min(0).max(1).optional(), reorder: z.number().min(0).max(1).optional() }),
  /** count random partitions (random halves), each held for hold_ms, healed in between for heal_ms. */
  z.object({ do: z.literal('random_partitions'), count: z.number().int().min(1).max(1000), hold_ms: duration, heal_ms: duration }),
  /** A seeded nemesis (the same as `dslab nemesis`). */
  z.object({ do: z.literal('nemesis'), interval_ms: duration, duration_ms: duration }),
  /** A key-value workload; its history is checked by the linearizable check. */
  z.object({ do: z.literal('load'), clients: z.number().int().min(1).max(50), rate_per_s: z.number().min(1).max(10_000), duration_ms: duration, keys: z.number().int().min(1).max(1000), mix: z.object({ read: z.number(), write: z.number(), cas: z.number() }).optional(), background: z.boolean().optional() }),
  z.object({ do: z.literal('wait_load') }),
  /** One kv operation that must succeed (expect ok) or must not (expect not_ok) within timeout_ms. */
  z.object({ do: z.literal('kv'), f: z.enum(['read', 'write', 'cas', 'delete']), key: z.string(), value: z.unknown().optional(), from: z.unknown().optional(), to: z.unknown().optional(), expect: z.enum(['ok', 'not_ok', 'any']), equals: z.unknown().optional(), timeout_ms: duration, node: nodeRef.optional() }),
  /** Every up node's commit_index reaches the leader's and at least min. */
  z.object({ do: z.literal('wait_caught_up'), within_ms: duration, min_commit_index: z.number().int().min(0).optional() }),
  /** Messages between nodes per second, averaged over the window, stay at or below max (budgets for elections and idle heartbeats). */
  z.object({ do: z.literal('expect_message_rate'), for_ms: duration, max_per_s: z.number().min(0) }),
  /** Sends count writes to one node without waiting for answers (entries a minority leader cannot commit). */
  z.object({ do: z.literal('send_writes'), node: nodeRef, count: z.number().int().min(1).max(10_000), key: z.string() }),
  /** Echo lab: every node answers count echo requests with the same payload. */
  z.object({ do: z.literal('echo'), count: z.number().int().min(1).max(10_000), timeout_ms: duration }),
  /** unique-ids lab: count generate requests spread over the nodes, concurrency at a time; all ids distinct. */
  z.object({ do: z.literal('generate'), count: z.number().int().min(1).max(100_000), concurrency: z.number().int().min(1).max(generate_clients_max), timeout_ms: duration }),
  /** The node's data directory stays under max_bytes (compaction keeps it bounded). */
  z.object({ do: z.literal('expect_data_dir_below'), node: nodeRef, max_bytes: z.number().int().min(1) }),
]);

export type Step = z.infer<typeof stepSchema>;

export const check_names = ['one_leader_per_term', 'terms_monotonic', 'applied_agree', 'linearizable', 'no_crash'] as const;
export type CheckName = (typeof check_names)[number];

export const testSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'test names are lowercase words joined by dashes'),
  description: z.string(),
  points: z.number().int().min(0).max(1000),
  nodes: z.number().int().min(1).max(25),
  time_limit_ms: z.number().int().min(1000).max(600_000),
  options: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(stepSchema).min(1),
  /** Checked over the whole run, from the event stream. */
  checks: z.array(z.enum(check_names)).default([]),
});

export type LabTest = z.infer<typeof testSchema>;

export const labSchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  /** The built-in system that is this lab's reference implementation. */
  reference: z.string(),
  /** Labs that grow one implementation share a starter: the lab whose starter/ to copy (default: this one). */
  starter: z.string().optional(),
  tests: z.array(testSchema).min(1),
});

export type LabSpec = z.infer<typeof labSchema> & { dir: string };

/** The labs/ folder shipped with dslab. */
export function labsDir(): string {
  return fileURLToPath(new URL('../../../labs', import.meta.url));
}

export function loadLab(id: string, dir = labsDir()): LabSpec {
  if (!/^[a-z0-9-]+$/.test(id)) throw new UserError(`bad lab name "${id}"`);
  const labDir = path.join(dir, id);
  const specFile = path.join(labDir, 'spec.json');
  if (!existsSync(specFile)) throw new UserError(`no lab named "${id}" (labs: ${listLabIds(dir).join(', ')})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(specFile, 'utf8'));
  } catch (error) {
    throw new UserError(`${specFile} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = labSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${specFile}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const names = parsed.data.tests.map((t) => t.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new UserError(`${specFile}: test name "${repeated}" is used twice`);
  return { ...parsed.data, dir: labDir };
}

export function listLabIds(dir = labsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'spec.json')))
    .map((e) => e.name)
    .sort(labOrder);
}

/** Warm-ups first, then the Raft labs in the order they build on each other. */
const lab_order = ['echo', 'unique-ids', 'raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable'];
function labOrder(a: string, b: string): number {
  const ia = lab_order.indexOf(a);
  const ib = lab_order.indexOf(b);
  return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
}
