import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../util/errors.js';

/** Unix socket paths longer than this do not fit in sockaddr_un on Linux (108 bytes with the NUL). */
const socket_path_bytes_max = 100;
/** Cluster directories hold node data, logs and the message trace: only their owner may enter them. */
export const private_dir_mode = 0o700;
/** A home of this name is dslab's own, so dslab tightens it; any other DSLAB_HOME may be a shared folder and is left as it is. */
const default_home_name = '.dslab';

export interface ClusterInfo {
  name: string;
  system: string;
  nodes: string[];
  /** The node program as argv. */
  command: string[];
  seed: number;
  dir: string;
  socket: string;
  supervisor_pid: number;
  started_at_ms: number;
  running: boolean;
  /** Why the last start failed, or null (absent in records written before this field existed). */
  start_error?: string | null;
  /** The node groups and their members (absent in records written before groups existed: one group, n1..nN). */
  groups?: ClusterGroupInfo[];
  /** The Zab servers' ZooKeeper client ports, once they listen (absent without Zab servers and in older records). */
  zk?: ClusterZkInfo;
  /** The system options the nodes were given (DSLAB_OPTIONS), so a checker can judge a stopped cluster by them (absent in older records). */
  options?: Record<string, unknown>;
}

export interface ClusterZkInfo {
  /** 127.0.0.1:P1,127.0.0.1:P2,… in server order. */
  connect_string: string;
  ports: { server: string; port: number }[];
}

export interface ClusterGroupInfo {
  name: string;
  prefix: string;
  nodes: string[];
}

/** Where clusters live: $DSLAB_HOME, or .dslab/ in the working directory. */
export function dslabHome(cwd = process.cwd()): string {
  return process.env.DSLAB_HOME ? path.resolve(process.env.DSLAB_HOME) : path.join(cwd, '.dslab');
}

export function validateClusterName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new UserError(`bad cluster name "${name}": use letters, digits, dot, dash or underscore (at most 64)`);
  }
  return name;
}

export interface ClusterPaths {
  dir: string;
  info: string;
  socket: string;
  trace: string;
  supervisorLog: string;
  logsDir: string;
  dataDir(node: string): string;
  logFile(node: string): string;
}

export function clusterPaths(home: string, name: string): ClusterPaths {
  const dir = path.join(home, name);
  let socket = path.join(dir, 'control.sock');
  if (Buffer.byteLength(socket) > socket_path_bytes_max) {
    // The cluster directory is too deep for a Unix socket path; keep the socket in a private temp folder instead.
    const digest = createHash('sha256').update(dir).digest('hex').slice(0, 16);
    const privateDir = path.join(tmpdir(), `dslab-${process.getuid?.() ?? 'user'}`);
    makePrivateDir(privateDir);
    socket = path.join(privateDir, `${digest}.sock`);
  }
  return {
    dir,
    info: path.join(dir, 'cluster.json'),
    socket,
    trace: path.join(dir, 'trace.jsonl'),
    supervisorLog: path.join(dir, 'supervisor.log'),
    logsDir: path.join(dir, 'logs'),
    dataDir: (node) => path.join(dir, 'data', node),
    logFile: (node) => path.join(dir, 'logs', `${node}.log`),
  };
}

/**
 * Creates a directory (and any missing parents) that only its owner can enter,
 * and tightens it if it already exists: an older dslab made them with the default mode.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: private_dir_mode });
  if ((statSync(dir).mode & 0o777) === private_dir_mode) return;
  try {
    chmodSync(dir, private_dir_mode); // also undoes a umask that left the new directory wider
  } catch (error) {
    throw new UserError(`cannot make ${dir} private (mode 700): ${(error as Error).message}`);
  }
}

/** Creates a cluster's directory and its logs and data folders, private; tightens the home too when it is dslab's own `.dslab`. */
export function makeClusterDir(home: string, paths: ClusterPaths): void {
  makePrivateDir(paths.dir);
  makePrivateDir(paths.logsDir);
  makePrivateDir(path.dirname(paths.dataDir('-')));
  if (path.basename(home) === default_home_name) makePrivateDir(home);
}

export function writeClusterInfo(file: string, info: ClusterInfo): void {
  // Write-then-rename so a reader never sees half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(info, null, 2) + '\n');
  renameSync(temporary, file);
}

export function readClusterInfo(file: string): ClusterInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
  } catch {
    return null;
  }
}

/**
 * Whether the process runs. A process that has exited but that its parent has not yet reaped (a zombie) does
 * not: a detached supervisor's parent is init, which may reap only every second or so, and `down` would wait
 * that long for a process that has already stopped.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Whether /proc says the process has exited and awaits its parent (state Z); false where there is no /proc. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (command) state …": the command may itself hold spaces and parentheses, so the state follows the last ")".
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

/** A cluster whose supervisor is alive. */
export function isRunning(info: ClusterInfo): boolean {
  return info.running && isProcessAlive(info.supervisor_pid);
}

export function listClusters(home: string): ClusterInfo[] {
  if (!existsSync(home)) return [];
  const infos: ClusterInfo[] = [];
  for (const entry of readdirSync(home, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const info = readClusterInfo(path.join(home, entry.name, 'cluster.json'));
    if (info) infos.push(info);
  }
  return infos.sort((a, b) => b.started_at_ms - a.started_at_ms);
}

/** The named cluster, or the most recently started running one. */
export function findRunningCluster(home: string, name?: string): ClusterInfo {
  if (name) {
    validateClusterName(name);
    const info = readClusterInfo(clusterPaths(home, name).info);
    if (!info) throw new UserError(`no cluster named "${name}" in ${home}`);
    if (!isRunning(info)) throw new UserError(notRunning(info));
    return info;
  }
  const all = listClusters(home);
  const running = all.filter(isRunning);
  if (running.length > 0) return running[0]!;
  const newest = all[0];
  if (newest?.start_error) throw new UserError(`no running cluster in ${home}; the last one, "${newest.name}", ${failedStart(newest)}`);
  throw new UserError(`no running cluster in ${home} (start one with: dslab up echo --detach)`);
}

function failedStart(info: ClusterInfo): string {
  const log = startErrorLog(info.nodes, info.start_error ?? '');
  const paths = clusterPaths(path.dirname(info.dir), info.name);
  const file = log === 'supervisor' ? paths.supervisorLog : paths.logFile(log);
  return `failed to start: ${info.start_error} (the cause is in ${file}: dslab logs ${log} --cluster ${info.name}; remove it: dslab down --cluster ${info.name} --clean)`;
}

/**
 * Whose log holds the cause of a failed start: the member its message names
 * first ("n2 printed a line that is not JSON …"), whose log has the line and
 * its stderr, else the supervisor's.
 */
export function startErrorLog(members: readonly string[], message: string): string {
  const named = /^(\S+) /.exec(message)?.[1];
  return named !== undefined && members.includes(named) ? named : 'supervisor';
}

/** Why a stopped cluster is not running, in one line, with what to do next. */
export function notRunning(info: ClusterInfo): string {
  if (info.start_error) return `cluster "${info.name}" is not running: it ${failedStart(info)}`;
  return `cluster "${info.name}" is not running (start it with: dslab up ${info.system} --name ${info.name})`;
}

/** The named cluster or the most recent one, running or not (for logs and down --clean). */
export function findAnyCluster(home: string, name?: string): ClusterInfo {
  if (name) {
    validateClusterName(name);
    const info = readClusterInfo(clusterPaths(home, name).info);
    if (!info) throw new UserError(`no cluster named "${name}" in ${home}`);
    return info;
  }
  const all = listClusters(home);
  const running = all.filter(isRunning);
  const chosen = running[0] ?? all[0];
  if (!chosen) throw new UserError(`no cluster in ${home} (start one with: dslab up echo --detach)`);
  return chosen;
}
