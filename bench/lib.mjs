// Helpers shared by the benchmarks: run the built CLI in a scratch directory.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const cli = new URL('../bin/run.js', import.meta.url).pathname;

/** What to undo if the run is stopped by SIGINT or SIGTERM: clusters to take down, servers to kill. */
const stop_hooks = new Set();
let signals_handled = false;

/** Runs `hook` (synchronously) if the run is stopped by SIGINT or SIGTERM, before it exits; returns what cancels it. */
export function onStop(hook) {
  if (!signals_handled) {
    signals_handled = true;
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.on(signal, () => {
        for (const run of [...stop_hooks]) {
          try {
            run();
          } catch {
            // the others still run
          }
        }
        process.exit(130);
      });
    }
  }
  stop_hooks.add(hook);
  return () => stop_hooks.delete(hook);
}

/** Each scratch folder not cleaned up yet, and what cancels its stop hook. */
const live_scratch = new Map();

export function scratch() {
  const cwd = mkdtempSync(path.join(tmpdir(), 'dslab-bench-'));
  live_scratch.set(cwd, onStop(() => cleanup(cwd)));
  return cwd;
}

export function dslab(cwd, ...args) {
  return execFileSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

/** dslab() without blocking the event loop, so that runs in different scratch folders may overlap; its stdout. */
export function dslabAsync(cwd, ...args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`dslab ${args.join(' ')} failed (${error.code}): ${stderr}`));
      else resolve(stdout);
    });
  });
}

export function status(cwd) {
  return JSON.parse(dslab(cwd, 'status', '--json'));
}

/** Clusters being taken down in the background (see takeDownInBackground). */
const downs_running = new Set();
let down_in_background = false;

/**
 * From now on cleanup() does not wait for the cluster to stop: the quick run
 * (whose figures mean nothing) goes on to the next benchmark while the last one's
 * cluster stops, which takes seconds. waitForCleanups() waits for them all.
 */
export function takeDownInBackground() {
  down_in_background = true;
}

/** Waits until every cluster cleanup() started taking down is down and its folder gone. */
export async function waitForCleanups() {
  await Promise.all([...downs_running]);
}

function removeScratch(cwd) {
  rmSync(cwd, { recursive: true, force: true });
  live_scratch.get(cwd)?.();
  live_scratch.delete(cwd);
}

export function cleanup(cwd) {
  if (down_in_background) {
    // Errors are ignored as below (already down); the stop hook stays until the folder is gone.
    const down = new Promise((resolve) => execFile(process.execPath, [cli, 'down', '--clean'], { cwd }, () => resolve()));
    const done = down.then(() => {
      removeScratch(cwd);
      downs_running.delete(done);
    });
    downs_running.add(done);
    return;
  }
  try {
    execFileSync(process.execPath, [cli, 'down', '--clean'], { cwd, stdio: 'ignore' });
  } catch {
    // already down
  }
  removeScratch(cwd);
}

/** Whether a program of this name is on the PATH. */
export function onPath(program) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, program)));
}

/** Where a result holds no figure (undefined, or a number that is not finite), as a path such as "router.latency_ms.p99"; null when every figure is there. */
export function missingFigure(value, at = '') {
  if (value === undefined) return at || '(the result)';
  if (typeof value === 'number') return Number.isFinite(value) ? null : at;
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = missingFigure(inner, at ? `${at}.${key}` : key);
      if (found) return found;
    }
  }
  return null;
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
