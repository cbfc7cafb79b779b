// Helpers shared by the benchmarks: run the built CLI in a scratch directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const cli = new URL('../bin/run.js', import.meta.url).pathname;

/** Scratch folders not cleaned up yet: a run stopped by SIGINT or SIGTERM takes their clusters down before it exits. */
const live_scratch = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const cwd of live_scratch) cleanup(cwd);
    process.exit(130);
  });
}

export function scratch() {
  const cwd = mkdtempSync(path.join(tmpdir(), 'dslab-bench-'));
  live_scratch.add(cwd);
  return cwd;
}

export function dslab(cwd, ...args) {
  return execFileSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

export function status(cwd) {
  return JSON.parse(dslab(cwd, 'status', '--json'));
}

export function cleanup(cwd) {
  try {
    execFileSync(process.execPath, [cli, 'down', '--clean'], { cwd, stdio: 'ignore' });
  } catch {
    // already down
  }
  rmSync(cwd, { recursive: true, force: true });
  live_scratch.delete(cwd);
}

/** Whether a program of this name is on the PATH. */
export function onPath(program) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, program)));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15, in clock ticks of 1/100 s.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
