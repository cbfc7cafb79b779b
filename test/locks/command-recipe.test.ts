import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { optionsFromFlags } from '../../src/registry.js';
import { resolveLockOptions } from '../../src/systems/locks/options.js';
import {
  capturesGroup,
  classifyLine,
  type CommandContext,
  CommandLock,
  type CommandLimits,
  command_line_chars_max,
  holds_line_default,
  kazoo_holds_line,
  kazoo_releases_line,
  kazooMissing,
  releases_line_default,
} from '../../src/systems/locks/recipes/command.js';
import type { Held } from '../../src/systems/locks/recipes/recipe.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-command-recipe-');

/** The seed's Go program's two lines, as its println writes them (to standard error). */
const go_holds = 'lock succ, do your business logic';
const go_releases = 'unlock succ, finish business logic';

describe('a contender command\'s lines', () => {
  const go = [new RegExp(holds_line_default), new RegExp(releases_line_default)] as const;
  const kazoo = [new RegExp(kazoo_holds_line), new RegExp(kazoo_releases_line)] as const;

  it('the default patterns read the seed\'s Go program: a hold with no token, then a release (not a second hold)', () => {
    expect(classifyLine(go_holds, ...go)).toEqual({ kind: 'holds', token: null });
    expect(classifyLine(go_releases, ...go)).toEqual({ kind: 'releases' });
    expect(classifyLine('2026/12/07 18:00:00 Connected to 127.0.0.1:2181', ...go)).toEqual({ kind: 'other' });
  });

  it('the kazoo script\'s lines: a hold with its znode\'s sequence number as the token; released, or lost with its session', () => {
    expect(classifyLine('held 42', ...kazoo)).toEqual({ kind: 'holds', token: 42 });
    expect(classifyLine('released', ...kazoo)).toEqual({ kind: 'releases' });
    expect(classifyLine('lost suspended', ...kazoo)).toEqual({ kind: 'releases' });
    expect(classifyLine('releasedx', ...kazoo)).toEqual({ kind: 'other' });
  });

  it('a captured token that is no whole number, or an overlong line, is garbage', () => {
    expect(classifyLine('held abc', /^held (\S+)$/, /^released$/)).toMatchObject({ kind: 'garbage', why: expect.stringContaining('"abc", not a whole number') });
    expect(classifyLine('x'.repeat(command_line_chars_max + 1), ...go)).toMatchObject({ kind: 'garbage' });
    // An optional group that did not take part: a hold without a token.
    expect(classifyLine('held', /^held( \d+)?$/, /^released$/)).toEqual({ kind: 'holds', token: null });
  });

  it('tells a pattern that captures a token from one that does not', () => {
    expect(capturesGroup(kazoo_holds_line)).toBe(true);
    expect(capturesGroup(holds_line_default)).toBe(false);
    expect(capturesGroup('^held (?:now)$')).toBe(false);
  });
});

describe('the contender command flags', () => {
  it('--recipe kazoo is checked before a cluster starts: a python that is missing, or has no kazoo, is one line saying what to install', () => {
    expect(kazooMissing('/nonexistent/python3')).toMatch(/^--recipe kazoo runs \/nonexistent\/python3, which cannot start \(.*ENOENT\): apt-get install python3-kazoo$/);
    // The node running these tests is no python: it fails the import.
    expect(kazooMissing(process.execPath)).toBe(`--recipe kazoo needs python3-kazoo, which ${process.execPath} does not have: apt-get install python3-kazoo`);
    // This machine's Debian python3 has it (.ci/run installs python3-kazoo).
    expect(kazooMissing()).toBeNull();
  });

  it('split the command as a shell would and keep the patterns; the backend is the Zab servers unless named', () => {
    const options = optionsFromFlags({ 'contender-cmd': "python3 'my lock.py' --path /l", 'holds-line': '^held (\\d+)$', 'releases-line': '^released$', fencing: true });
    expect(options).toEqual({ lock_command: ['python3', 'my lock.py', '--path', '/l'], lock_holds_line: '^held (\\d+)$', lock_releases_line: '^released$', lock_fencing: true });
    expect(resolveLockOptions(options)).toMatchObject({ backend: 'zk', recipe: 'command', command: { argv: ['python3', 'my lock.py', '--path', '/l'], holds_line: '^held (\\d+)$', releases_line: '^released$' } });
    // The defaults read the seed's Go program unchanged.
    expect(resolveLockOptions(optionsFromFlags({ 'contender-cmd': 'zookeeper-lock' })).command).toEqual({ argv: ['zookeeper-lock'], holds_line: holds_line_default, releases_line: releases_line_default });
    expect(resolveLockOptions(optionsFromFlags({ recipe: 'kazoo' }))).toMatchObject({ backend: 'zk', recipe: 'kazoo', command: null });
  });

  it('refuse, in one line naming the flag: a pattern that does not compile, fencing with no token to fence by, a second recipe, a counter in the backend, patterns without a command, an empty command', () => {
    expect(() => optionsFromFlags({ 'contender-cmd': 'x', 'holds-line': '(' })).toThrow(/^--holds-line is not a regular expression/);
    expect(() => optionsFromFlags({ 'contender-cmd': 'zookeeper-lock', fencing: true })).toThrow(/^--fencing needs a token from every section, and the holds line "\^lock succ" captures none/);
    expect(() => optionsFromFlags({ 'contender-cmd': 'x', recipe: 'zk' })).toThrow('--recipe and --contender-cmd both say how the contenders lock: give one');
    expect(() => optionsFromFlags({ recipe: 'kazoo', counter: 'backend' })).toThrow(/^--counter backend needs one of dslab's own recipes/);
    expect(() => optionsFromFlags({ 'releases-line': 'done' })).toThrow('--holds-line and --releases-line read the lines of a --contender-cmd: give one');
    expect(() => optionsFromFlags({ 'contender-cmd': '  ' })).toThrow(/^--contender-cmd is empty/);
    expect(() => optionsFromFlags({ 'contender-cmd': 'a | b' })).toThrow(/^--contender-cmd "a \| b": the shell character "\|"/);
    expect(() => optionsFromFlags({ recipe: 'kazoo', backend: 'redis' })).toThrow('--recipe kazoo is a zk recipe, not one for --backend redis');
    expect(() => optionsFromFlags({ 'contender-cmd': './no-such-lock --x' })).toThrow(`--contender-cmd: ./no-such-lock does not exist (the contenders run it from ${process.cwd()})`);
  });
});

/** Limits generous enough for a loaded machine's node start; the hang tests shorten theirs. */
const limits: CommandLimits = { hold_wait_ms: 30_000, release_wait_ms: 30_000, exit_grace_ms: 300 };
const short: CommandLimits = { hold_wait_ms: 3000, release_wait_ms: 1500, exit_grace_ms: 300 };
const context: CommandContext = { node: 'k1', now: () => Date.now(), ttl_ms: 2000, zk_connect: '127.0.0.1:2181,127.0.0.1:2182', cwd: process.cwd(), log: (text) => logged.push(text) };
let logged: string[] = [];
const locks: CommandLock[] = [];
/** A fake command: node running `script`, its output read with the kazoo script's patterns unless others are given. */
function fake(script: string, patterns: { holds_line?: string; releases_line?: string } = {}, given_limits = limits): CommandLock {
  const lock = new CommandLock(context, { argv: [process.execPath, '-e', script], holds_line: patterns.holds_line ?? kazoo_holds_line, releases_line: patterns.releases_line ?? kazoo_releases_line }, 'command', given_limits);
  locks.push(lock);
  return lock;
}
/** Whether a process is still running. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const on_release = "process.stdin.on('data', (d) => { if (String(d).includes('release')) { console.log('released'); process.exit(0); } });";

afterEach(async () => {
  await Promise.all(locks.splice(0).map((lock) => lock.close()));
  logged = [];
});

describe('a contender command, run for a round', () => {
  it('holds with its token and the connect string, contender and TTL in its environment; the section may write; asked to let go, it does', async () => {
    const lock = fake(`console.log('held 7 ' + [process.env.DSLAB_CONTENDER, process.env.DSLAB_ZK_CONNECT, process.env.ZOOKEEPER, process.env.DSLAB_LOCK_TTL_MS].join(' ')); ${on_release}`, { holds_line: '^held (\\d+) k1 127.0.0.1:2181,127.0.0.1:2182 127.0.0.1:2181,127.0.0.1:2182 2000$' });
    const held = await lock.acquire();
    expect(held.token).toBe(7);
    expect(lock.mayWrite(held)).toBe(true);
    expect(await lock.release(held)).toBe('released');
  });

  it('reads its lines on standard error too (Go\'s println), and a hold with no token is fenced by nothing, said in one line', async () => {
    const lock = fake(`console.error(${JSON.stringify(go_holds)}); setTimeout(() => { console.error(${JSON.stringify(go_releases)}); }, 300);`, { holds_line: holds_line_default, releases_line: releases_line_default });
    const held = await lock.acquire();
    expect(held.token).toBeNull();
    expect(logged).toEqual([`"${go_holds}" carries no token: this section is not fenced`]);
    // It ignores the request to let go and lets go when it likes: the round waits for its line.
    expect(await lock.release(held)).toBe('released');
  });

  it('a command that crashes before it holds fails the round in one line with its exit code and its own words: a panic\'s reason, else its last line', async () => {
    const lock = fake(`console.log('connecting'); console.error('boom: no server'); process.exit(3);`);
    await expect(lock.acquire()).rejects.toThrow(/exited with code 3 before it said it holds the lock; its stderr says: "boom: no server"$/);
    const quiet = fake(`console.log('connecting'); process.exit(1);`);
    await expect(quiet.acquire()).rejects.toThrow(/exited with code 1 before it said it holds the lock; its last line: "connecting"$/);
    // The seed's Go program when nothing listens on 2181, as it crashes.
    const go_panic = ['2026/12/07 18:41:35 Failed to connect to 127.0.0.1:2181: dial tcp 127.0.0.1:2181: connect: connection refused', 'panic: zk: could not connect to a server', '', 'goroutine 1 [running]:', 'main.main()', '\t/work/shared/seed/zookeeper-lock.go:16 +0x185'];
    const go = fake(`console.error(${JSON.stringify(go_panic.join('\n'))}); process.exit(2);`, { holds_line: holds_line_default, releases_line: releases_line_default });
    await expect(go.acquire()).rejects.toThrow(/exited with code 2 before it said it holds the lock; its stderr says: ".*zk: could not connect to a server"$/);
  });

  it('a command that cannot start fails the round in one line', async () => {
    const lock = new CommandLock(context, { argv: ['./no-such-contender'], holds_line: holds_line_default, releases_line: releases_line_default }, 'command', limits);
    locks.push(lock);
    await expect(lock.acquire()).rejects.toThrow(/^cannot start "\.\/no-such-contender": spawn \.\/no-such-contender ENOENT$/);
  });

  it('a command that hangs before it holds is killed at the limit, in one line', async () => {
    const lock = fake(`console.error('pid ' + process.pid); setInterval(() => {}, 1000);`, {}, short);
    const error = await lock.acquire().then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/printed no line matching "\^held \(\\\\d\+\)\$" within 3s; its stderr says: "pid \d+": killed$/);
    const pid = Number(/pid (\d+)/.exec(error!.message)![1]);
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it('garbage fails the round and kills the command: a token that is no number, a release before any hold, a second hold', async () => {
    await expect(fake(`console.log('held x1'); setInterval(() => {}, 1000);`, { holds_line: '^held (\\S+)$' }).acquire()).rejects.toThrow(/gives the token "x1", not a whole number: killed$/);
    await expect(fake(`console.log('released'); setInterval(() => {}, 1000);`).acquire()).rejects.toThrow(/said it let go \("released"\) before it said it holds the lock: killed$/);
    const twice = fake(`console.log('held 1'); setTimeout(() => console.log('held 2'), 200); setInterval(() => {}, 1000);`);
    const held = await twice.acquire();
    await expect.poll(() => twice.mayWrite(held), { timeout: 10_000 }).toBe(false);
    await expect(twice.release(held)).resolves.toBe('lost');
  });

  it('a command that lets go before the section is done: the section may not write, and the release says the lock was lost', async () => {
    const lock = fake(`console.log('held 3'); setTimeout(() => console.log('lost suspended'), 100); setInterval(() => {}, 1000);`);
    const held: Held = await lock.acquire();
    await expect.poll(() => lock.mayWrite(held), { timeout: 10_000 }).toBe(false);
    expect(lock.whyStopped(held)).toMatch(/ let go \("lost suspended"\) while it held the lock$/);
    expect(await lock.release(held)).toBe('lost');
    // One that crashes while it holds: the same, in its own words.
    const crashing = fake(`console.log('held 8'); setTimeout(() => { console.error('ConnectionLoss: the session is gone'); process.exit(4); }, 100);`);
    const held_too = await crashing.acquire();
    await expect.poll(() => crashing.mayWrite(held_too), { timeout: 10_000 }).toBe(false);
    expect(crashing.whyStopped(held_too)).toMatch(/ exited with code 4 while it held the lock; its stderr says: "ConnectionLoss: the session is gone"$/);
    expect(await crashing.release(held_too)).toBe('lost');
    expect(logged.at(-1)).toMatch(/ exited with code 4 while it held the lock/);
  });

  it('a command that said it lost the lock is still asked to let go, so it can give up what it still owns before it exits', async () => {
    const asked = path.join(tempDir(), 'asked');
    const lock = fake(`console.log('held 10'); console.log('lost suspended'); process.stdin.on('data', (d) => { require('node:fs').writeFileSync(${JSON.stringify(asked)}, String(d)); process.exit(0); });`);
    const held = await lock.acquire();
    await expect.poll(() => lock.mayWrite(held), { timeout: 10_000 }).toBe(false);
    expect(await lock.release(held)).toBe('lost');
    expect(readFileSync(asked, 'utf8')).toBe('release\n');
  });

  it('an overlong line on standard error is a log line cut short, not garbage (a program logs there too)', async () => {
    const lock = fake(`console.error('x'.repeat(${command_line_chars_max * 3})); console.log('held 9'); ${on_release}`);
    const held = await lock.acquire();
    expect(held.token).toBe(9);
    expect(await lock.release(held)).toBe('released');
  });

  it('a command that never lets go after its section is killed at the limit, in one line; one that lingers after its release line is killed too', async () => {
    const stuck = fake(`console.log('held 4'); console.error('pid ' + process.pid); process.stdin.resume(); setInterval(() => {}, 1000);`, {}, short);
    const held = await stuck.acquire();
    await expect(stuck.release(held)).rejects.toThrow(/did not let go within 1\.5s of its section's end; its stderr says: "pid \d+": killed$/);
    // Its token is its pid, to look for it after.
    const lingering = fake(`console.log('held ' + process.pid); process.stdin.on('data', () => console.log('released')); setInterval(() => {}, 1000);`);
    const held_too = await lingering.acquire();
    // The release waits for the process to be gone: killed after the grace.
    expect(await lingering.release(held_too)).toBe('released');
    expect(alive(held_too.token!)).toBe(false);
  });

  it('close kills a command still running', async () => {
    // Its token is its pid, to look for it after.
    const lock = fake(`console.log('held ' + process.pid); setInterval(() => {}, 1000);`);
    const { token } = await lock.acquire();
    expect(alive(token!)).toBe(true);
    await lock.close();
    expect(alive(token!)).toBe(false);
  });
});
