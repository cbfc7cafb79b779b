import { execa } from 'execa';
import { run, settings } from '@oclif/core';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, cli_path, dslab, makeWorkdir, waitFor } from '../helpers/cli.js';

/**
 * Bad input ends in one `dslab: …` line on stderr and exit code 1, never a stack trace, and never a command that
 * waits on. Most cases are about the message a command's parsing or a refusal produces: those run the built
 * commands in this process, through oclif's `run` as bin/run.js calls it (half a second of CPU saved per case,
 * the cost of a node start). The cases marked `process` run the real binary: every error bin/run.js itself prints
 * (oclif raises it before a command runs), and at least one of each other kind, so the wiring (exit code, stderr
 * of a real process, the process ending) is proved for each path.
 */

/** A refused or bad request ends well within this, even on a loaded machine; a command that waits on after a refusal does not. */
const refusal_deadline_ms = 30_000;

interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  timedOut: boolean;
}

/** Runs dslab and kills it at the deadline, reporting whether it had to. */
async function dslabWithinDeadline(cwd: string, args: string[]): Promise<Outcome> {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '' }, timeout: refusal_deadline_ms });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode, timedOut: result.timedOut };
}

/** Handles that would keep a process alive (sockets, pipes, child processes, servers); timers are left out, as a command's own end clears them. */
function openHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => !/^(Timeout|Immediate|TTYWrap|FSReqCallback|FSReqPromise|GetAddrInfoReqWrap)$/.test(kind))
    .sort();
}

let in_process_runs = 0;
/**
 * Runs one dslab command in this process, as bin/run.js does (its own catch left out: a case whose error
 * oclif raises before the command runs belongs with the real-process cases), with `cwd`'s .dslab as the
 * home, capturing what it writes. One at a time: the exit code and the output streams are this process's.
 * A command that has not ended by the deadline, or ended but left a socket or other handle open (which
 * would keep a real process waiting on), counts as timed out.
 */
async function dslabInProcess(cwd: string, args: string[]): Promise<Outcome> {
  expect(in_process_runs++, 'in-process runs overlap').toBe(0);
  settings.enableAutoTranspile = false; // as bin/run.js: run dist/, not the sources vitest's NODE_ENV would point oclif at
  const handles_before = openHandles();
  const saved = { exitCode: process.exitCode, home: process.env.DSLAB_HOME, no_color: process.env.NO_COLOR, stdout: process.stdout.write, stderr: process.stderr.write, log: console.log, error: console.error };
  let stdout = '';
  let stderr = '';
  // oclif prints through console.log and console.error; a command may also write to the streams itself.
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  console.log = (...parts: unknown[]) => void (stdout += `${format(...parts)}\n`);
  console.error = (...parts: unknown[]) => void (stderr += `${format(...parts)}\n`);
  process.exitCode = undefined;
  process.env.DSLAB_HOME = path.join(cwd, '.dslab');
  process.env.NO_COLOR = '1';
  let timer: NodeJS.Timeout | undefined;
  try {
    const ended = await Promise.race([
      // (bin/run.js's flush, which lets stdout drain before the process exits, has nothing to drain here: the writes are captured)
      run(args, pathToFileURL(cli_path).href).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), refusal_deadline_ms))),
    ]);
    const exitCode = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
    return { stdout, stderr, exitCode, timedOut: !ended };
  } finally {
    clearTimeout(timer);
    Object.assign(process.stdout, { write: saved.stdout });
    Object.assign(process.stderr, { write: saved.stderr });
    Object.assign(console, { log: saved.log, error: saved.error });
    process.exitCode = saved.exitCode;
    for (const [name, value] of [['DSLAB_HOME', saved.home], ['NO_COLOR', saved.no_color]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    in_process_runs--;
    // A socket the command left open closes on the next turns of the event loop, or never.
    await waitFor(`dslab ${args.join(' ')} to close what it opened`, () => openHandles().length <= handles_before.length || undefined, 5_000);
  }
}

/** Bad input: exit code 1 and one human line on stderr, never a stack trace. */
function expectOneLineError(args: string[], result: Outcome, pattern: RegExp): void {
  expect(result.timedOut, `dslab ${args.join(' ')} still running after ${refusal_deadline_ms / 1000}s`).toBe(false);
  expect(result.exitCode, `dslab ${args.join(' ')}`).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

type Case = [args: string[], pattern: RegExp, how?: 'process'];

/** The in-process cases one after another, the real-process ones at the same time (each a node start, waiting on its child). */
function errorCases(cwd: () => string, cases: Case[]): void {
  describe('in this process', () => {
    it.each(cases.filter((c) => c[2] !== 'process'))('dslab %j', async (args, pattern) => {
      expectOneLineError(args, await dslabInProcess(cwd(), args), pattern);
    });
  });
  describe.concurrent('as a real process', () => {
    it.each(cases.filter((c) => c[2] === 'process'))('dslab %j', async (args, pattern) => {
      expectOneLineError(args, await dslabWithinDeadline(cwd(), args), pattern);
    });
  });
}

/** Every cluster of this file, started at once in beforeAll and stopped in afterAll. */
let no_cluster_cwd: string;
let echo_cwd: string;
let raft_cwd: string;
beforeAll(async () => {
  [no_cluster_cwd, echo_cwd, raft_cwd] = [makeWorkdir(), makeWorkdir(), makeWorkdir()];
  const [echo, raft] = await Promise.all([
    dslab(echo_cwd, 'up', 'echo', '--nodes', '3', '--detach'),
    dslab(raft_cwd, 'up', 'raft', '--nodes', '3', '--detach'), // raft: load needs a key-value store
  ]);
  expect(echo.exitCode, echo.stderr).toBe(0);
  expect(raft.exitCode, raft.stderr).toBe(0);
});
afterAll(async () => {
  await Promise.all([no_cluster_cwd, echo_cwd, raft_cwd].filter(Boolean).map((cwd) => cleanup(cwd)));
});

describe('bad input without a cluster', () => {
  errorCases(
    () => no_cluster_cwd,
    [
      [['status'], /^dslab: no running cluster in .*\.dslab/, 'process'],
      [['kill', 'n1'], /^dslab: no running cluster/],
      [['status', '--cluster', 'nope'], /^dslab: no cluster named "nope"/],
      [['up', 'nosuchsystem', '--detach'], /^dslab: unknown system "nosuchsystem" \(built in: echo, unique-ids, raft, zab, snowflake, locks, broadcast, g-set, g-counter, pn-counter, kafka, txn, breaker; or pass --bin CMD/],
      [['up', 'echo', '--nodes', '0', '--detach'], /^dslab: --nodes must be between 1 and 25, got 0/],
      [['up', 'echo', '--name', 'a/b', '--detach'], /^dslab: bad cluster name "a\/b"/],
      [['frobnicate'], /^dslab: unknown command "frobnicate"; dslab --help lists every command$/, 'process'],
      [['kv', 'frob', 'x'], /^dslab: unknown kv subcommand "frob" \(kv commands: cas, del, get, put\)$/, 'process'],
      [['up', 'x', '--bin', "sh -c 'echo hi", '--detach'], /^dslab: --bin "sh -c 'echo hi": a single quote is not closed$/],
      [['up', 'echo', '--cluster', 'x'], /^dslab: up has no --cluster: use --name \(cluster name\)$/],
      [['down', 'nc-y'], /^dslab: down takes no arguments; to name a cluster use --cluster nc-y$/, 'process'],
      [['lab', 'list', 'raft'], /^dslab: lab list takes no arguments \(got "raft"\)$/, 'process'],
      [['kill', 'n1', 'n2'], /^dslab: kill takes one argument \(NODE\); "n2" is more than that$/],
      [['lab', 'lsit'], /did you mean "lab list"\?$/, 'process'],
      [['help', 'frob'], /^dslab: unknown command "frob"; dslab --help lists every command$/, 'process'],
      [['up', 'raft', '--node', '3', '--detach'], /^dslab: up has no --node: did you mean --nodes\?$/],
      [['down', '--name', 'x'], /^dslab: down has no --name: use --cluster \(cluster to act on\)$/],
      [['up', 'echo', '--election-timeout', '1-2s', '--detach'], /^dslab: --election-timeout is an option of raft, not of echo$/],
      [['up', 'locks', '--ttl', '0s', '--detach'], /^dslab: --ttl must be more than 0$/],
      [['load', '--clients', '500'], /^dslab: --clients must be a whole number from 1 to 200, got 500$/],
      [['kill'], /^dslab: Missing 1 required arg/],
      [['status', '--bogus'], /^dslab: status has no --bogus \(dslab status --help lists its flags\)$/],
      [['logs', 'n1'], /^dslab: no cluster in/],
      [['events', '--type', 'fault,nope'], /^dslab: --type: unknown event type "nope" \(types: cluster_up, /],
      [['watch', '--no-ui', '--exclude', ''], /^dslab: --exclude needs at least one event type/],
    ],
  );

  it('names the program that cannot start, and keeps the failed cluster for logs', async () => {
    // Its own folder: the failed start stays as a stopped cluster, which the cases above must not see.
    const own = makeWorkdir();
    try {
      const args = ['up', 'x', '--bin', '/no/such/program', '--nodes', '1', '--detach'];
      expectOneLineError(args, await dslabWithinDeadline(own, args), /^dslab: n1 exited .* before answering init.* \(logs: dslab logs n1 --cluster x\)$/);
      expect((await dslab(own, 'logs', 'n1', '--cluster', 'x')).exitCode).toBe(0);
    } finally {
      await cleanup(own);
    }
  });

  it('reports errors as JSON with --json', async () => {
    const result = await dslab(no_cluster_cwd, 'status', '--json');
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: expect.stringMatching(/no running cluster/) });
  });
});

describe('bad input against a running cluster', () => {
  errorCases(
    () => echo_cwd,
    [
      [['kill', 'n9'], /^dslab: unknown node "n9" \(nodes: n1, n2, n3, leader, random\)/, 'process'],
      // Echo takes no leading role: there is no leader to kill, and it says so.
      [['kill', 'leader'], /^dslab: echo has no leader: its nodes take no leading role$/],
      [['partition', 'n1,n2', 'n2,n3'], /^dslab: node n2 appears in more than one partition group/],
      [['partition', 'n1,,n2'], /^dslab: malformed partition group "n1,,n2"/],
      [['partition', 'n1,n2,n3'], /^dslab: a partition needs at least two groups/],
      [['partition', 'n1', '--isolate', 'n2'], /^dslab: --isolate cannot be combined with partition groups/],
      [['loss', '120%'], /^dslab: bad loss "120%": must be at most 100%/],
      [['loss', 'lots'], /^dslab: bad loss "lots"/],
      [['loss', '10%', '--link', 'n1'], /^dslab: malformed link "n1"/],
      [['duplicate', '5%', '--link', 'n1-n7'], /^dslab: unknown node "n7" in link "n1-n7"/],
      [['delay', '--ms', 'soon'], /^dslab: bad --ms "soon"/],
      [['skew', 'n2', 'later'], /^dslab: bad clock offset "later"/],
      [['nemesis', '--interval', '0.5x'], /^dslab: bad --interval "0.5x"/],
      [['nemesis', '--stop'], /^dslab: no nemesis is running/],
      [['resume', 'n1'], /^dslab: n1 is up, not paused/],
      [['restart', 'n1'], /^dslab: n1 is running; kill it first/],
      [['send', 'n1', 'not json'], /^dslab: the message body is not valid JSON/],
      [['send', 'n1', '{"type":"no_such_type"}'], /^dslab: n1 answered error 10 \(not supported\)/, 'process'],
      // Each of these used to reach the supervisor, be refused, and leave the command waiting forever.
      [['nemesis', '--interval', '50ms'], /^dslab: --interval must be from 100ms to 1h, got 50ms$/, 'process'],
      [['nemesis', '--interval', '0s', '--duration', '1s'], /^dslab: --interval must be from 100ms to 1h, got 0s$/],
      [['nemesis', '--interval', '100ms', '--duration', '24h'], /^dslab: --duration 24h at --interval 100ms would be 864000 faults; at most 10000/],
      [['nemesis', '--interval', '1m', '--duration', '30s'], /^dslab: --interval 1m is longer than --duration 30s, so no fault would be injected$/],
      [['load', '--duration', '10'], /^dslab: bad --duration "10": give a unit, like 10ms or 10s$/],
      [['load', '--keys', '2000000'], /^dslab: --keys must be a whole number from 1 to 1000000, got 2000000$/],
      [['skew', 'n1', '5'], /^dslab: bad clock offset "5": give a unit, like 5ms or 5s$/],
      [['delay', '--ms', '11m'], /^dslab: --ms must be from 0ms to 10m, got 11m$/],
      [['kv', 'get', 'x', '--timeout', '0s'], /^dslab: --timeout must be from 1ms to 10m, got 0s$/],
      [['logs', 'n8'], /^dslab: unknown node "n8"/],
    ],
  );
});

// Valid requests that the supervisor turns down because one like it is already running: the two kinds at once, on
// the raft cluster (a nemesis's faults do not change whether a second load is refused).
describe.concurrent('requests the supervisor refuses exit 1 at once, with their event stream closed, instead of waiting on', () => {
  it('a second nemesis', async () => {
    expect((await dslab(raft_cwd, 'nemesis', '--interval', '1m', '--duration', '10m', '--detach')).exitCode).toBe(0);
    const args = ['nemesis', '--interval', '1s', '--duration', '5s'];
    expectOneLineError(args, await dslabWithinDeadline(raft_cwd, args), /^dslab: a nemesis is already running/);
    const json = await dslabWithinDeadline(raft_cwd, [...args, '--json']);
    expect([json.timedOut, json.exitCode]).toEqual([false, 1]);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.stringMatching(/a nemesis is already running/) });
    expect((await dslab(raft_cwd, 'nemesis', '--stop')).exitCode).toBe(0);
  });

  it('a second load', async () => {
    expect((await dslab(raft_cwd, 'load', '--duration', '10m', '--rate', '1', '--detach')).exitCode).toBe(0);
    const args = ['load', '--duration', '2s'];
    expectOneLineError(args, await dslabWithinDeadline(raft_cwd, args), /^dslab: a load is already running/);
    expect((await dslab(raft_cwd, 'load', '--stop')).exitCode).toBe(0);
  });
});
