import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ClusterInfo,
  clusterPaths,
  findAnyCluster,
  findRunningCluster,
  isProcessAlive,
  makeClusterDir,
  makePrivateDir,
  startErrorLog,
  writeClusterInfo,
} from '../../src/lib/cluster/paths.js';
import { waitFor } from '../helpers/cli.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-paths-');
const modeOf = (dir: string) => statSync(dir).mode & 0o777;

describe('cluster directories', () => {
  it('are made private (0700), parents included, under the usual umask 022', () => {
    const root = tempDir();
    const previous = process.umask(0o022);
    try {
      const dir = path.join(root, 'a', 'b', 'c');
      makePrivateDir(dir);
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(path.join(root, 'a'))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('left readable by an older dslab are tightened', () => {
    const dir = path.join(tempDir(), 'old');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    makePrivateDir(dir);
    expect(modeOf(dir)).toBe(0o700);
  });

  it('tighten the home when it is dslab\'s own .dslab, and leave any other home as it is', () => {
    for (const [name, expected] of [['.dslab', 0o700], ['shared', 0o755]] as const) {
      const home = path.join(tempDir(), name);
      mkdirSync(home);
      chmodSync(home, 0o755);
      const paths = clusterPaths(home, 'raft');
      makeClusterDir(home, paths);
      expect(modeOf(home)).toBe(expected);
      for (const dir of [paths.dir, paths.logsDir, path.dirname(paths.dataDir('n1'))]) expect(modeOf(dir)).toBe(0o700);
    }
  });
});

describe('the record of a cluster whose start failed', () => {
  const failed = (home: string): ClusterInfo => {
    const paths = clusterPaths(home, 'student');
    makeClusterDir(home, paths);
    const info: ClusterInfo = {
      name: 'student',
      system: 'student',
      nodes: ['n1', 'n2'],
      command: ['python3', 'node.py'],
      seed: 1,
      dir: paths.dir,
      socket: paths.socket,
      supervisor_pid: 2 ** 22 + 1, // above Linux's pid_max default: no such process
      started_at_ms: 1,
      running: false,
      start_error: 'n2 exited (exit code 3) before answering init',
    };
    writeClusterInfo(paths.info, info);
    return info;
  };

  it('is found by the commands that work on stopped clusters (logs, down --clean)', () => {
    const home = tempDir();
    const info = failed(home);
    expect(findAnyCluster(home, 'student')).toEqual(info);
    expect(findAnyCluster(home)).toEqual(info);
  });

  it('makes commands that need a running cluster say it failed to start, and why', () => {
    const home = tempDir();
    failed(home);
    // The hint points at the log of the node the error names, which holds the line it printed and its stderr.
    expect(() => findRunningCluster(home, 'student')).toThrow(
      `cluster "student" is not running: it failed to start: n2 exited (exit code 3) before answering init (the cause is in ${path.join(home, 'student', 'logs', 'n2.log')}: dslab logs n2 --cluster student; remove it: dslab down --cluster student --clean)`,
    );
    expect(() => findRunningCluster(home)).toThrow(/^no running cluster in .*; the last one, "student", failed to start: n2 exited/);
  });

  it("points at the supervisor's log when the error names no node", () => {
    const home = tempDir();
    const info = failed(home);
    writeClusterInfo(clusterPaths(home, 'student').info, { ...info, start_error: 'redis-server is not installed' });
    expect(() => findRunningCluster(home, 'student')).toThrow(`(the cause is in ${path.join(home, 'student', 'supervisor.log')}: dslab logs supervisor --cluster student;`);
    expect(startErrorLog(['n1', 'n2'], 'n2 printed a line that is not JSON instead of answering init: hi')).toBe('n2');
    expect(startErrorLog(['n1', 'n2'], 'n9 is no member')).toBe('supervisor');
  });
});

// /proc shows the zombie; elsewhere there is nothing to read, and the signal check alone decides.
describe.runIf(existsSync('/proc/self/stat'))('a process', () => {
  it('that has exited but is not yet reaped by its parent is not alive, so `down` need not wait for init to reap its supervisor', async () => {
    // The shell starts a child, then becomes a sleep that never reaps it: once the child exits (after the shell's
    // exec, which its second gives time for) it stays a zombie while the sleep runs.
    const parent = execa('sh', ['-c', 'sleep 1 & echo $!; exec sleep 60'], { reject: false, buffer: false });
    try {
      const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
      await waitFor('the child to exit', () => / Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')));
      // The signal check alone still finds it: it holds its pid until reaped.
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isProcessAlive(zombie)).toBe(false);
      expect(isProcessAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      await parent;
    }
    expect(isProcessAlive(parent.pid!)).toBe(false);
  });
});
