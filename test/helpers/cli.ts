import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterInfo, findRunningCluster, isProcessAlive, readClusterInfo } from '../../src/lib/cluster/paths.js';
import { stopCluster } from '../../src/lib/cluster/stop.js';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { ControlClient } from '../../src/lib/control/client.js';

export const repo_root = fileURLToPath(new URL('../..', import.meta.url));
export const cli_path = path.join(repo_root, 'bin', 'run.js');
export const fixture_node = path.join(repo_root, 'test', 'fixtures', 'node.mjs');

/** Deadlines are generous: tests wait for events, and must pass on a loaded 2-core machine. */
export const wait_ms_default = 20_000;

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs the real dslab binary in `cwd`. */
export async function dslab(cwd: string, ...args: string[]): Promise<CliResult> {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '' }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

/** Starts the real binary without waiting for it (foreground `up`, `logs -f`). */
export function dslabSpawn(cwd: string, ...args: string[]): ResultPromise {
  return execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '' }, buffer: true });
}

export async function dslabJson<T>(cwd: string, ...args: string[]): Promise<T> {
  const result = await dslab(cwd, ...args, '--json');
  if (result.exitCode !== 0) throw new Error(`dslab ${args.join(' ')} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * The status `dslab status --json` prints, asked of the cluster's control API from this process: for waits that
 * poll every 100 ms, where a CLI process per poll would cost half a second of CPU (what the command prints is
 * tested on its own).
 */
export function controlStatus(cwd: string, cluster?: string): Promise<ClusterStatus> {
  return new ControlClient(findRunningCluster(path.join(cwd, '.dslab'), cluster)).status();
}

/**
 * One client request as `dslab send` makes it (the same client id), asked of the control API from this process: the
 * reply body, errors too. For files that send dozens of requests, where a CLI process each would cost half a second
 * of CPU; each such file still runs the real `dslab send` where it tests what the command prints or exits with.
 */
export async function controlSend(cwd: string, dest: string, body: { type: string; [field: string]: unknown }, timeout_ms?: number): Promise<Record<string, unknown> & { type: string }> {
  const result = await new ControlClient(findRunningCluster(path.join(cwd, '.dslab'))).act({ type: 'send', dest, body, timeout_ms });
  return result.reply as Record<string, unknown> & { type: string };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeout_ms = wait_ms_default): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout_ms}ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether the process runs (an exited process its parent has not reaped yet does not; see isProcessAlive). */
export const isAlive = isProcessAlive;

export function makeWorkdir(): string {
  return mkdtempSync(path.join(tmpdir(), 'dslab-test-'));
}

/**
 * Stops whatever a test started in `cwd`: each cluster stopped as `dslab down` stops it, from this process (the
 * command itself is tested on its own; a CLI process per cleanup would cost half a second of CPU), then SIGKILL for
 * any supervisor or node process that is still alive.
 */
export async function cleanup(cwd: string, pids: number[] = []): Promise<void> {
  const infos = listInfos(cwd);
  // All at once: the stops (each its nodes' exit) overlap. One that fails is made good by the SIGKILLs below.
  await Promise.all(infos.filter((info) => isAlive(info.supervisor_pid)).map((info) => stopCluster(info).catch(() => undefined)));
  for (const info of infos) if (isAlive(info.supervisor_pid)) process.kill(info.supervisor_pid, 'SIGKILL');
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(cwd, { recursive: true, force: true });
}

function listInfos(cwd: string): ClusterInfo[] {
  const home = path.join(cwd, '.dslab');
  try {
    return readdirSync(home).flatMap((name) => readClusterInfo(path.join(home, name, 'cluster.json')) ?? []);
  } catch {
    return [];
  }
}
