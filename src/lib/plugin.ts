import { fileURLToPath } from 'node:url';
import type { Interfaces } from '@oclif/core';
import { z, type ZodType } from 'zod';
import type { ActionResult, ClusterStatus, NewClusterEvent } from './control/api.js';
import type { StepDefinition } from './grade/steps.js';
import type { MessageBody } from './protocol/messages.js';
import { mergeRoles, type RoleVocabulary } from './roles.js';
import type { ColumnSpec, SystemView } from './view.js';
import type { HistoryChecker, HistoryFileCheck, HistoryOperation, HistoryVerdict, HistoryViolation } from './history.js';
import { UserError } from './util/errors.js';
import { formatDurationMs } from './util/units.js';
import type { Rng } from './util/prng.js';

export type { ColumnSpec, SystemView } from './view.js';
export type { HistoryChecker, HistoryFileCheck, HistoryOperation, HistoryVerdict, HistoryViolation } from './history.js';
export { history_default_workload, history_header_type } from './history.js';

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
  /**
   * The role words of the group's program when it is another system's (the Zab coordinator beside
   * snowflake's workers or locks' contenders: Zab's vocabulary): the cluster's view takes them in
   * beside the system's own, so `kill leader` finds the coordinator's leader.
   */
  roles?: RoleVocabulary;
  /** The group's nodes are Zab servers: each gets a ZooKeeper client port (see ZkClientPortSpec). */
  zk_client_port?: ZkClientPortSpec;
}

/**
 * What makes a program group's nodes ZooKeeper servers to real clients: `dslab up` gives each
 * one a loopback TCP port speaking ZooKeeper's wire protocol (src/lib/supervisor/zk-ports.ts).
 */
export interface ZkClientPortSpec {
  /** The servers' tick in ms under these (checked) options: session timeouts negotiate to 2..20 ticks of it. */
  tickMs(options: Readonly<Record<string, unknown>>): number;
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
  roles?: undefined;
  zk_client_port?: undefined;
  /** As a program group's; a system usually counts its servers by a flag of its own or fixes them at one (count). */
  count_flag?: string;
  count?: number;
}

export type NodeGroup = ProgramGroup | ServerGroup;

/**
 * How a system's pure core runs under the simulator (src/lib/sim: seeded
 * scheduler, virtual network over the router's FaultModel, the nemesis): the
 * system's SimDriver behind one call, so tools and tests can run any
 * system's simulation by name.
 */
export interface SystemSimulator {
  /**
   * One randomized run (faults, crashes and restarts drawn from the seed);
   * the same seed gives the same run. Rejects with an Error naming the seed
   * and the safety property a broken run violated.
   */
  run(seed: number): Promise<SimulationSummary>;
}

export interface SimulationSummary {
  seed: number;
  /** The run's own counters (events, messages, leaders elected, …). */
  stats: Readonly<Record<string, number | null>>;
}

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
  /**
   * The program group whose program `up --bin` (and a lab's --bin, by default)
   * replaces, the other groups running the system's own (snowflake's workers
   * beside the reference coordinator). Absent: --bin runs alone, as n1..nN.
   */
  bin_group?: string;
  /**
   * Modules of dslab a TypeScript starter of this system's labs imports, by
   * the placeholder it writes as their specifier (`lab init` puts in this
   * installation's file URL): snowflake's starter uses the coordinator client.
   */
  starter_imports?: Readonly<Record<string, URL>>;
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
  /** Its core under the simulator (src/lib/sim): randomized seeded runs checking its safety properties. */
  sim?: SystemSimulator;
}

/**
 * How a workload's clients reach the cluster, as the supervisor lends it:
 * requests through the router (with the supervisor's checks and its record of
 * every request and reply), and what the supervisor knows of the nodes.
 */
export interface ClientTransport {
  request(client: string, dest: string, body: MessageBody, timeout_ms: number): Promise<MessageBody>;
  /** The node believed to lead, if any (roles.ts's definition, else the one inferred from client replies). */
  leader(): string | null;
  /** Nodes that are up, in a stable order. */
  upNodes(): string[];
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** What the supervisor gives a workload's run-time part when it makes one. */
export interface WorkloadHost {
  transport: ClientTransport;
  /** Differs between supervisor runs: sessions named with it are new in each (a restarted cluster keeps its data, and a reused session would look like a stale retry). */
  session_tag: string;
  /** Puts an event on the cluster's stream (a load's progress). */
  emit(event: NewClusterEvent): void;
  /**
   * Hands what nodes send `client` unasked (watch events, session expiries),
   * those waiting first, to `handler` until the returned function is called;
   * one handler per client.
   */
  subscribe(client: string, handler: (message: { client: string; node: string; body: MessageBody; at_ms: number }) => void): () => void;
  /** The nodes that answer this workload's requests (its group's members, SystemPlugin.workload_groups), in id order. */
  servers: readonly string[];
  /** The cluster's system options (what DSLAB_OPTIONS gives its nodes): broadcast's --topology. */
  options: Readonly<Record<string, unknown>>;
  /** A client id of the supervisor's registry for a client that lives long (a session), unused by any other until released; UserError when none is free. */
  takeClientId(): string;
  releaseClientId(client: string): void;
  /** Runs `run` after `ms` (the supervisor's clock); returns a cancel function. */
  after(ms: number, run: () => void): () => void;
  /** The cluster's seeded PRNG, for draws such as a load's seed when none is given (as the supervisor's own load did, so a seed replays the same run). */
  rng: Rng;
}

/**
 * One operation the control API's `workload` action runs (`dslab kv put`,
 * `dslab load`, a grader step): its arguments' schema, checked in the
 * supervisor, and what it does. Bad input throws UserError.
 */
export interface WorkloadOperation {
  args: z.ZodObject;
  run(args: Record<string, unknown>): Promise<ActionResult> | ActionResult;
}

/** A WorkloadOperation whose handler sees its arguments typed by its schema. */
export function defineOperation<Shape extends z.ZodRawShape>(definition: { args: Shape; run(args: z.infer<z.ZodObject<Shape>>): Promise<ActionResult> | ActionResult }): WorkloadOperation {
  return { args: z.object(definition.args), run: definition.run as WorkloadOperation['run'] };
}

/** A workload's part inside one supervisor (its clients' sessions, its running load), made when first used. */
export interface WorkloadRuntime {
  /** The operations the control API's `workload` action names (`{type: 'workload', workload, op, args}`). */
  operations: Readonly<Record<string, WorkloadOperation>>;
  /** The cluster is stopping: end what runs (a load) and close what it keeps open (sessions, which the supervisor waits for briefly while the nodes still hear). */
  stop(): void | Promise<void>;
}

/**
 * A workload: what clients send to a system, how they send it and how their
 * history is judged (Maelstrom's client, generator and checker). Its code
 * lives in src/workloads/<name>/ and reaches the library only through these
 * hooks.
 */
export interface WorkloadPlugin {
  name: string;
  description: string;
  /** The request types its clients send. */
  requests: readonly string[];
  /** The request types that change state (a node answering one is a leader's best guess when none reports a role). */
  write_requests: readonly string[];
  /** The history checks the grader can run on it (names in a lab spec's `checks`), each with its checker. */
  checks: Readonly<Record<string, HistoryChecker>>;
  /** Grader steps that drive this workload's requests. */
  steps?: readonly StepDefinition[];
  /** What `dslab check FILE` runs on a history of this workload (named by the history's first line). */
  checkFile?(file: string, timeout_ms: number): HistoryFileCheck;
  /**
   * What the workload tells its group's nodes once they answered init, before any client reaches them
   * (broadcast's topology, as Maelstrom's clients send it at setup): called with every such node at
   * start, once all answered init, and with a restarted node after its init. A throw fails the start
   * (or the restart) with its message.
   */
  afterInit?(host: WorkloadHost, nodes: readonly string[]): Promise<void>;
  /** Its part inside the supervisor: clients with sessions and retries, loads; absent for a workload the grader's steps drive alone. */
  runtime?(host: WorkloadHost): WorkloadRuntime;
  /**
   * What the workload says of the run when its cluster is brought down (`dslab down` prints it), asked
   * of the live cluster just before it stops: the locks checker's verdict. Null when there is nothing
   * to judge (nothing ran). Bad news is a result, not a throw; a throw is reported as an unknown result.
   */
  closingCheck?(host: WorkloadHost, status: ClusterStatus): Promise<HistoryFileCheck | null>;
}

/** One workload's closing check as `down` reports it. */
export interface ClosingCheck extends HistoryFileCheck {
  workload: string;
}

/**
 * What a cluster of this system is seen as: its columns, and its roles with those of the program
 * groups it runs (the groups these options run, or every group the system may run when none are
 * given, as for a lab graded against it).
 */
export function systemView(plugin: Pick<SystemPlugin, 'roles' | 'columns' | 'groups' | 'groupsFor'>, options?: Readonly<Record<string, unknown>>): SystemView {
  const groups = options !== undefined && plugin.groupsFor ? plugin.groupsFor(options) : plugin.groups;
  const group_roles = groups.flatMap((group) => (group.roles ? [group.roles] : []));
  return { roles: mergeRoles(plugin.roles, ...group_roles), columns: plugin.columns };
}

/** The argv that runs one node of a program group. */
export function groupCommand(group: ProgramGroup): string[] {
  return [process.execPath, fileURLToPath(group.program)];
}

/**
 * Checks options against a system's schema; throws UserError naming the first
 * problem ("where: what"; a refinement's own message stands alone, as it
 * names the flag or field itself). `names` gives the name the user typed for
 * an option (lock_ttl_ms → --ttl); an option without one is named as it is.
 */
export function checkOptions(plugin: Pick<SystemPlugin, 'name' | 'options'>, options: unknown, where?: string, names: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const parsed = plugin.options.safeParse(options);
  if (parsed.success) return parsed.data;
  const what = describeOptionIssue(parsed.error.issues[0]!, names);
  throw new UserError(where ? `${where}: ${what}` : what);
}

/** One schema problem in words: "--ttl must be more than 0", "--hold must be at most 1m". */
export function describeOptionIssue(issue: z.core.$ZodIssue, names: Readonly<Record<string, string>> = {}): string {
  const key = issue.path.map(String).join('.');
  if (issue.code === 'custom' || !key) return issue.message;
  const name = names[String(issue.path[0])] ?? key;
  // Options in milliseconds end in _ms (the project's naming rule): their limits read as durations.
  const amount = (value: number | bigint) => (Number(value) !== 0 && /_ms$/.test(key) ? formatDurationMs(Number(value)) : String(value));
  switch (issue.code) {
    case 'too_small':
      return `${name} must be ${issue.inclusive === false ? 'more than' : 'at least'} ${amount(issue.minimum)}`;
    case 'too_big':
      return `${name} must be ${issue.inclusive === false ? 'less than' : 'at most'} ${amount(issue.maximum)}`;
    case 'invalid_value':
      return `${name} must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.map(String).join(', ')}`}`;
    case 'invalid_type':
      return `${name} must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}`;
    case 'unrecognized_keys':
      return `unknown option${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    default:
      return `${name}: ${issue.message}`;
  }
}
