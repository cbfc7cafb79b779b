import { fileURLToPath } from 'node:url';
import type { Interfaces } from '@oclif/core';
import type { ZodType } from 'zod';
import type { ActionResult } from './control/api.js';
import type { MessageBody } from './protocol/messages.js';
import type { StepDefinition } from './grade/steps.js';
import type { RoleVocabulary } from './roles.js';
import { UserError } from './util/errors.js';

/**
 * What a system and a workload are, as the library sees them. The library
 * knows these shapes and nothing of any one system: src/registry.ts lists the
 * plugins (src/systems/<name>/plugin.ts, src/workloads) and hands them to
 * the library, and the parts the supervisor, dashboard and grader need at run
 * time travel as plain data (SystemView) in the supervisor's config, status
 * and events, so a detached supervisor and a `dslab watch` in another
 * process see the same system.
 */

/**
 * One dashboard column a system adds to the node table, as data: the node's
 * state fields it shows. The generic columns (node, status, role, term or
 * epoch, leader contact, message rates) need no declaring.
 */
export interface ColumnSpec {
  key: string;
  title: string;
  /** State fields shown, the first one a node reports winning; the column appears once any node reports one. */
  fields: readonly string[];
  width: number;
  /** Narrow terminals drop the lowest rank first (the generic columns hold ranks 0, 2, 4 and 5). */
  drop_rank: number;
  /** Also show how far a node's value trails the leader's ("12 -3"): Raft's commit index. */
  lag_behind_leader?: boolean;
}

/** What the supervisor, the dashboard and the grader are told about the system a cluster runs. */
export interface SystemView {
  roles: RoleVocabulary;
  columns: readonly ColumnSpec[];
}

/**
 * A set of nodes running one program (coordinator z1..z3 beside workers
 * w1..w4). A single-group system has one group named "nodes" with prefix "n"
 * counted by --nodes, so its ids are n1..nN.
 */
export interface ProgramGroup {
  /** The group's name, as fault commands take it ("nodes", "coordinator", "workers"). */
  name: string;
  /** Node ids are the prefix and a number from 1: n1..nN. */
  prefix: string;
  /** The node program: a JavaScript module run with this Node.js. */
  program: URL;
  server?: undefined;
  /** The `up` flag that says how many nodes the group has: `nodes` (up's own), or an integer flag the system declares. */
  count_flag?: string;
  /** A count no flag changes (one resource node), instead of count_flag. */
  count?: number;
  /** Options for this group's nodes only, laid over the cluster's options in DSLAB_OPTIONS (observers: `{ observer: true }`). */
  options?: Record<string, unknown>;
}

/**
 * Real servers as cluster members (redis1 beside n1..n3): the supervisor runs
 * each on a loopback port, and every node of the program groups reaches it
 * through a link proxy of its own that applies that link's faults; init's
 * dslab_servers gives each node its proxy's address.
 */
export interface ServerGroup {
  name: string;
  /** Member ids are the prefix and a number from 1: redis1. */
  prefix: string;
  /** The kind of server (src/lib/proxy/server-kinds.ts). */
  server: 'redis' | 'etcd';
  /** The server's program when it is not the kind's own: a name on PATH or a path. */
  binary?: string;
  program?: undefined;
  /** As a program group's; a system usually counts its servers by a flag of its own or fixes them at one (count). */
  count_flag?: string;
  count?: number;
}

export type NodeGroup = ProgramGroup | ServerGroup;

export interface SystemPlugin {
  name: string;
  /** One line for `up --help`. */
  description: string;
  /** One or more node groups (see NodeGroup): every group the system may run. */
  groups: readonly NodeGroup[];
  /**
   * The groups a cluster with these (checked) options runs, when that depends
   * on them (locks: redis1 or etcd1 or a Zab ensemble, by --backend); each one
   * of `groups`. Absent: all of `groups`.
   */
  groupsFor?(options: Readonly<Record<string, unknown>>): readonly NodeGroup[];
  /** Flags `up` takes for this system; each description starts with the system's name ("raft: …"). */
  flags: Interfaces.FlagInput;
  /** The options (what DSLAB_OPTIONS gives each node) that the given flags ask for; flags that were not given are absent. */
  optionsFromFlags(flags: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** Checks options, from `up`'s flags and from lab specs alike; a failed refinement's message is shown as it is. */
  options: ZodType<Record<string, unknown>>;
  roles: RoleVocabulary;
  columns: readonly ColumnSpec[];
  /** Names of the workloads (in the registry) its clients speak: a lab of this system may use their steps. */
  workloads: readonly string[];
  /** The group whose nodes answer each workload's requests, by workload name (default: the first program group). */
  workload_groups?: Readonly<Record<string, string>>;
  /** Grader steps only this system's nodes can pass (they read its state reports' own fields). */
  steps?: readonly StepDefinition[];
  /** How the simulator drives this system's core; loosely typed until src/lib/sim settles. */
  sim?: unknown;
}

/**
 * A workload: what clients send to a system and how their history is judged.
 * Today these are descriptors pointing at the code that still lives in
 * src/lib (the lin-kv client, load generator and checker).
 */
export interface WorkloadPlugin {
  name: string;
  description: string;
  /** The request types its clients send. */
  requests: readonly string[];
  /** The request types that change state (a node answering one is a leader's best guess when none reports a role). */
  write_requests: readonly string[];
  /** The history checks the grader can run on it (names in a lab spec's `checks`). */
  checks: readonly string[];
  /** Grader steps that drive this workload's requests. */
  steps?: readonly StepDefinition[];
  /** Where its client, generator and checker live; loosely typed until they move into src/workloads/<name>/. */
  code?: { client?: unknown; generator?: unknown; checker?: unknown };
  /**
   * The control operations it adds (`dslab zk create …` runs the zk workload's `create`): a module whose
   * default export is a WorkloadControlFactory. The supervisor, a process of its own, gets the module's
   * location in its config and imports it the first time an operation names the workload.
   */
  control?: URL;
}

/** What a workload's control module gets from the supervisor: clients that are router endpoints, and time. */
export interface WorkloadHost {
  /** The nodes that answer the workload's requests (the members of its group), in id order. */
  readonly servers: readonly string[];
  /** A client id of the supervisor's registry, unused by any other client until released. Throws UserError when none is free. */
  takeClientId(): string;
  releaseClientId(client: string): void;
  /** Sends a request as `client`; resolves with the reply, error replies too; rejects when none came within timeout_ms or the node is down. */
  request(client: string, dest: string, body: MessageBody, timeout_ms: number): Promise<MessageBody>;
  /** Messages nodes send `client` unasked (watch events, session expiries); one subscriber per client. */
  onUnasked(client: string, handler: (from: string, body: MessageBody) => void): () => void;
  /** The node the cluster reports as leader, if any. */
  leader(): string | null;
  now(): number;
  after(ms: number, run: () => void): () => void;
}

export interface WorkloadControl {
  /** Runs one operation; a refusal or failure is a UserError whose message is the one line a user sees. */
  run(op: string, args: Readonly<Record<string, unknown>>): Promise<ActionResult>;
  /** The cluster is stopping: end what the workload keeps open (sessions). */
  shutdown(): Promise<void>;
}

export type WorkloadControlFactory = (host: WorkloadHost) => WorkloadControl;

export function systemView(plugin: Pick<SystemPlugin, 'roles' | 'columns'>): SystemView {
  return { roles: plugin.roles, columns: plugin.columns };
}

/** The argv that runs one node of a program group. */
export function groupCommand(group: ProgramGroup): string[] {
  return [process.execPath, fileURLToPath(group.program)];
}

/**
 * Checks options against a system's schema; throws UserError naming the first
 * problem ("where: field: what"; a refinement's own message stands alone, as
 * it names the flag or field itself).
 */
export function checkOptions(plugin: Pick<SystemPlugin, 'name' | 'options'>, options: unknown, where?: string): Record<string, unknown> {
  const parsed = plugin.options.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  const what = issue.code === 'custom' || !field ? issue.message : `${field}: ${issue.message}`;
  throw new UserError(where ? `${where}: ${what}` : what);
}
