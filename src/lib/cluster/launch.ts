import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Supervisor, SupervisorConfig, SupervisorPlugins } from '../supervisor/supervisor.js';
import { nodes_max } from '../protocol/messages.js';
import { checkGroups, default_group, type GroupConfig, Topology } from './groups.js';
import { assertInstalled } from '../proxy/server-process.js';
import { serverKindOf } from '../proxy/server-kinds.js';
import { groupCommand, type NodeGroup, type SystemPlugin, type SystemView } from '../plugin.js';
import { zkPortFromEnv } from '../supervisor/zk-ports.js';
import { UserError } from '../util/errors.js';
import { splitShellWords } from '../util/shell-words.js';
import { randomSeed } from '../util/prng.js';
import { clusterPaths, dslabHome, isRunning, makeClusterDir, readClusterInfo, startErrorLog, validateClusterName, writeClusterInfo, type ClusterInfo } from './paths.js';

export const init_timeout_ms_default = 10_000;
export const init_timeout_ms_min = 1;
export const init_timeout_ms_max = 600_000;

/** `up`'s --nodes when it is not given (and the count of a group counted by it in a lab test that does not say). */
export const nodes_default = 3;

/** How long `up --detach` waits for the supervisor to report its nodes initialised. */
export const detach_ready_timeout_ms = 60_000;

export interface UpOptions {
  /** The system's name, or any label for a --bin node. */
  system: string;
  /** The registered system the label names, if any (the caller looks it up in src/registry.ts). */
  plugin?: SystemPlugin;
  /** Every registered system's name, for the message when the label names none and no --bin is given. */
  known_systems: readonly string[];
  /** What the supervisor, dashboard and grader are told about the system: the plugin's, or the registry's for a custom node. */
  view: SystemView;
  /** --nodes: the count of a group counted by it, and of the one group a --bin node runs in. */
  nodes: number;
  /** Other groups' counts, by their count flag (a multi-group system's --workers); a group whose flag is missing here is refused. */
  group_counts?: Readonly<Record<string, number | undefined>>;
  bin?: string;
  name?: string;
  seed?: number;
  init_timeout_ms: number;
  cwd?: string;
  /** System options (raft timeouts, snapshot interval, read mode), already checked by the plugins whose flags they came from; passed to every node. */
  options?: Record<string, unknown>;
  keep_data?: boolean;
  /** --zk-port: the first Zab server's ZooKeeper client port (0: any free ones); absent: 2181 and on where free. */
  zk_port?: number;
}

/** Checks the options and builds the supervisor's config; throws UserError on bad input. */
export async function planCluster(options: UpOptions): Promise<SupervisorConfig> {
  const name = validateClusterName(options.name ?? options.system);
  const home = dslabHome(options.cwd);
  // Checked before anything is created, so bad input leaves no cluster directory behind.
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > nodes_max) {
    throw new UserError(`--nodes must be between 1 and ${nodes_max}, got ${options.nodes}`);
  }
  let groups: GroupConfig[];
  const bin = options.bin === undefined ? undefined : splitShellWords(options.bin, '--bin');
  if (bin !== undefined && bin.length === 0) throw new UserError('--bin is empty: give the command that runs one node, like "python3 node.py"');
  if (bin !== undefined && !options.plugin?.bin_group) {
    groups = [{ ...default_group, count: options.nodes, command: bin }];
  } else {
    if (!options.plugin) throw new UserError(`unknown system "${options.system}" (built in: ${options.known_systems.join(', ')}; or pass --bin CMD to run your own node)`);
    const plugin = options.plugin;
    groups = (plugin.groupsFor ? plugin.groupsFor(options.options ?? {}) : plugin.groups).map((group) => {
      const flag = group.count_flag;
      const count = flag === undefined ? group.count : flag === 'nodes' ? options.nodes : options.group_counts?.[flag];
      if (count === undefined) throw new UserError(`--${flag ?? 'nodes'} is needed: how many nodes group ${group.name} has`);
      if (!Number.isInteger(count) || count < 1 || count > nodes_max) throw new UserError(`${flag === undefined ? `group ${group.name}'s count` : `--${flag}`} must be between 1 and ${nodes_max}, got ${count}`);
      // A system's bin_group runs the --bin program; its other groups stay the system's own.
      const replaced = bin !== undefined && group.name === plugin.bin_group;
      const config = groupConfig(group, count, replaced ? bin : undefined);
      // The system's own Zab servers serve real ZooKeeper clients too; a --bin program in their place may not speak for them.
      if (group.zk_client_port && !replaced) config.zk_client_port = { tick_ms: group.zk_client_port.tickMs(options.options ?? {}) };
      return config;
    });
  }
  checkGroups(groups);
  if (options.zk_port !== undefined && !groups.some((g) => g.zk_client_port)) {
    throw new UserError(`--zk-port: ${options.system} runs no Zab servers to give ZooKeeper client ports (zab does, and the coordinator of snowflake and of locks --backend zk)`);
  }
  // A missing server program is one line in the user's terminal, not a failure deep in the supervisor's log.
  for (const group of groups) if (group.server) assertInstalled(serverKindOf(group.server));
  const existing = readClusterInfo(clusterPaths(home, name).info);
  if (existing && isRunning(existing)) {
    throw new UserError(`cluster "${name}" is already running (supervisor pid ${existing.supervisor_pid}); stop it with: dslab down --cluster ${name}`);
  }
  return {
    name,
    system: options.system,
    groups,
    seed: options.seed ?? randomSeed(),
    home,
    cwd: options.cwd ?? process.cwd(),
    init_timeout_ms: options.init_timeout_ms,
    options: options.options ?? {},
    view: options.view,
    keep_data: options.keep_data ?? false,
    ...zkPortOf(options.zk_port, groups.some((g) => g.zk_client_port)),
    ...(options.plugin?.workload_groups ? { workload_groups: { ...options.plugin.workload_groups } } : {}),
    ...(options.plugin ? { workloads: [...options.plugin.workloads] } : {}),
  };
}

/**
 * One of a system's groups as the supervisor runs it, with `count` members;
 * `command` replaces a program group's own program (the grader's node under
 * test), keeping the group's name, prefix and options.
 */
export function groupConfig(group: NodeGroup, count: number, command?: readonly string[]): GroupConfig {
  if (group.server !== undefined) return { name: group.name, prefix: group.prefix, count, command: [], server: { kind: group.server, ...(group.binary ? { binary: group.binary } : {}) } };
  return { name: group.name, prefix: group.prefix, count, command: command ? [...command] : groupCommand(group), ...(group.options ? { options: group.options } : {}) };
}

/** Runs the supervisor in this process (foreground `up`). */
export async function startForeground(config: SupervisorConfig, plugins: SupervisorPlugins): Promise<Supervisor> {
  const { Supervisor } = await import('../supervisor/supervisor.js');
  try {
    return await Supervisor.start(config, plugins);
  } catch (error) {
    throw error instanceof UserError ? new UserError(withLogHint(config, error.message)) : error;
  }
}

/**
 * Starts the supervisor as a detached process and waits until its nodes
 * answered init. `entry` is the module that runs it with the registry's
 * plugins (src/supervisor-main.ts; the library cannot name it).
 */
export async function startDetached(config: SupervisorConfig, entry: URL): Promise<ClusterInfo> {
  const paths = clusterPaths(config.home, config.name);
  makeClusterDir(config.home, paths);
  const logFd = openSync(paths.supervisorLog, 'a');
  const main = fileURLToPath(entry);
  const child = spawn(process.execPath, [main, Buffer.from(JSON.stringify(config)).toString('base64url')], {
    detached: true,
    stdio: ['ignore', 'pipe', logFd],
    cwd: config.cwd,
  });
  closeSync(logFd);
  const line = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(`error the supervisor did not report ready within ${detach_ready_timeout_ms / 1000}s`), detach_ready_timeout_ms);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(text.split('\n')[0] || `error the supervisor exited with code ${code} before it was ready (see ${paths.supervisorLog})`);
    });
  });
  child.stdout!.destroy();
  child.unref();
  if (line !== 'ready') {
    if (child.exitCode === null) child.kill('SIGTERM');
    const message = line.replace(/^error /, '');
    recordFailedStart(config, child.pid ?? 0, message);
    throw new UserError(withLogHint(config, message));
  }
  const info = readClusterInfo(paths.info);
  if (!info) throw new UserError(`the supervisor started but wrote no ${paths.info}`);
  return info;
}

/**
 * Makes sure a failed start leaves a record of the stopped cluster with the
 * reason, so `logs`, `status` and `down --clean` work on it. The supervisor
 * writes one itself; this covers one that died or hung before it could.
 */
function recordFailedStart(config: SupervisorConfig, supervisor_pid: number, message: string): void {
  const paths = clusterPaths(config.home, config.name);
  const existing = readClusterInfo(paths.info);
  if (existing && existing.supervisor_pid === supervisor_pid && existing.start_error) return;
  const record: ClusterInfo = existing?.supervisor_pid === supervisor_pid
    ? { ...existing, running: false, start_error: message }
    : {
        name: config.name,
        system: config.system,
        nodes: [...new Topology(config.groups).nodeIds],
        command: config.groups[0]!.command,
        seed: config.seed,
        dir: paths.dir,
        socket: paths.socket,
        supervisor_pid,
        started_at_ms: Date.now(),
        running: false,
        start_error: message,
      };
  writeClusterInfo(paths.info, record);
}

/** A start failure, with where its logs are: the node the message names first, else the supervisor. */
function withLogHint(config: SupervisorConfig, message: string): string {
  const log = startErrorLog(new Topology(config.groups).nodeIds, message);
  return `${message} (logs: dslab logs ${log} --cluster ${config.name})`;
}

/** The ports asked for: `--zk-port`, else (for a cluster with Zab servers) the environment's default, else none (2181 and on where free). */
function zkPortOf(flag: number | undefined, has_zab_servers: boolean): { zk_port?: number } {
  if (flag !== undefined) return { zk_port: flag };
  const from_env = has_zab_servers ? zkPortFromEnv() : undefined;
  return from_env === undefined ? {} : { zk_port: from_env };
}
