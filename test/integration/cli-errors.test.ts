import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, cli_path, dslab, makeWorkdir } from '../helpers/cli.js';

/** A refused or bad request ends well within this, even on a loaded machine; a command that waits on after a refusal does not. */
const refusal_deadline_ms = 30_000;

/** Runs dslab and kills it at the deadline, reporting whether it had to. */
async function dslabWithinDeadline(cwd: string, args: string[]) {
  const result = await execa(process.execPath, [cli_path, ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '' }, timeout: refusal_deadline_ms });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode, timedOut: result.timedOut };
}

/** Bad input: exit code 1 and one human line on stderr, never a stack trace. */
async function expectOneLineError(cwd: string, args: string[], pattern: RegExp): Promise<void> {
  const result = await dslabWithinDeadline(cwd, args);
  expect(result.timedOut, `dslab ${args.join(' ')} still running after ${refusal_deadline_ms / 1000}s`).toBe(false);
  expect(result.exitCode, `dslab ${args.join(' ')}`).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe.concurrent('bad input without a cluster', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it.each([
    [['status'], /^dslab: no running cluster in .*\.dslab/],
    [['kill', 'n1'], /^dslab: no running cluster/],
    [['status', '--cluster', 'nope'], /^dslab: no cluster named "nope"/],
    [['up', 'nosuchsystem', '--detach'], /^dslab: unknown system "nosuchsystem" \(built in: echo, unique-ids, raft, zab, snowflake, locks, broadcast, g-set, g-counter, pn-counter, kafka, txn, breaker; or pass --bin CMD/],
    [['up', 'echo', '--nodes', '0', '--detach'], /^dslab: --nodes must be between 1 and 25, got 0/],
    [['up', 'echo', '--name', 'a/b', '--detach'], /^dslab: bad cluster name "a\/b"/],
    [['frobnicate'], /^dslab: unknown command "frobnicate"; dslab --help lists every command$/],
    [['kv', 'frob', 'x'], /^dslab: unknown kv subcommand "frob" \(kv commands: cas, del, get, put\)$/],
    [['up', 'x', '--bin', "sh -c 'echo hi", '--detach'], /^dslab: --bin "sh -c 'echo hi": a single quote is not closed$/],
    [['up', 'echo', '--cluster', 'x'], /^dslab: up has no --cluster: use --name \(cluster name\)$/],
    [['down', 'nc-y'], /^dslab: down takes no arguments; to name a cluster use --cluster nc-y$/],
    [['lab', 'list', 'raft'], /^dslab: lab list takes no arguments \(got "raft"\)$/],
    [['kill', 'n1', 'n2'], /^dslab: kill takes one argument \(NODE\); "n2" is more than that$/],
    [['lab', 'lsit'], /did you mean "lab list"\?$/],
    [['help', 'frob'], /^dslab: unknown command "frob"; dslab --help lists every command$/],
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
  ])('dslab %j', async (args, pattern) => {
    await expectOneLineError(cwd, args as string[], pattern);
  });

  it('names the program that cannot start, and keeps the failed cluster for logs', async () => {
    // Its own folder: the failed start stays as a stopped cluster, which the cases above must not see.
    const own = makeWorkdir();
    try {
      await expectOneLineError(own, ['up', 'x', '--bin', '/no/such/program', '--nodes', '1', '--detach'], /^dslab: n1 exited .* before answering init.* \(logs: dslab logs n1 --cluster x\)$/);
      expect((await dslab(own, 'logs', 'n1', '--cluster', 'x')).exitCode).toBe(0);
    } finally {
      await cleanup(own);
    }
  });

  it('reports errors as JSON with --json', async () => {
    const result = await dslab(cwd, 'status', '--json');
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: expect.stringMatching(/no running cluster/) });
  });
});

describe.concurrent('bad input against a running cluster', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'echo', '--nodes', '3', '--detach')).exitCode).toBe(0);
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it.each([
    [['kill', 'n9'], /^dslab: unknown node "n9" \(nodes: n1, n2, n3, leader, random\)/],
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
    [['send', 'n1', '{"type":"no_such_type"}'], /^dslab: n1 answered error 10 \(not supported\)/],
    // Each of these used to reach the supervisor, be refused, and leave the command waiting forever.
    [['nemesis', '--interval', '50ms'], /^dslab: --interval must be from 100ms to 1h, got 50ms$/],
    [['nemesis', '--interval', '0s', '--duration', '1s'], /^dslab: --interval must be from 100ms to 1h, got 0s$/],
    [['nemesis', '--interval', '100ms', '--duration', '24h'], /^dslab: --duration 24h at --interval 100ms would be 864000 faults; at most 10000/],
    [['nemesis', '--interval', '1m', '--duration', '30s'], /^dslab: --interval 1m is longer than --duration 30s, so no fault would be injected$/],
    [['load', '--duration', '10'], /^dslab: bad --duration "10": give a unit, like 10ms or 10s$/],
    [['load', '--keys', '2000000'], /^dslab: --keys must be a whole number from 1 to 1000000, got 2000000$/],
    [['skew', 'n1', '5'], /^dslab: bad clock offset "5": give a unit, like 5ms or 5s$/],
    [['delay', '--ms', '11m'], /^dslab: --ms must be from 0ms to 10m, got 11m$/],
    [['kv', 'get', 'x', '--timeout', '0s'], /^dslab: --timeout must be from 1ms to 10m, got 0s$/],
    [['logs', 'n8'], /^dslab: unknown node "n8"/],
  ])('dslab %j', async (args, pattern) => {
    await expectOneLineError(cwd, args as string[], pattern);
  });
});

describe('requests the supervisor refuses', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = makeWorkdir();
    expect((await dslab(cwd, 'up', 'raft', '--nodes', '3', '--detach')).exitCode).toBe(0); // raft: load needs a key-value store
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('exit 1 at once, with their event stream closed, instead of waiting on', async () => {
    // Valid requests that the supervisor turns down because one like it is already running.
    expect((await dslab(cwd, 'nemesis', '--interval', '1m', '--duration', '10m', '--detach')).exitCode).toBe(0);
    await expectOneLineError(cwd, ['nemesis', '--interval', '1s', '--duration', '5s'], /^dslab: a nemesis is already running/);
    const json = await dslabWithinDeadline(cwd, ['nemesis', '--interval', '1s', '--duration', '5s', '--json']);
    expect([json.timedOut, json.exitCode]).toEqual([false, 1]);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.stringMatching(/a nemesis is already running/) });
    expect((await dslab(cwd, 'nemesis', '--stop')).exitCode).toBe(0);

    expect((await dslab(cwd, 'load', '--duration', '10m', '--rate', '1', '--detach')).exitCode).toBe(0);
    await expectOneLineError(cwd, ['load', '--duration', '2s'], /^dslab: a load is already running/);
    expect((await dslab(cwd, 'load', '--stop')).exitCode).toBe(0);
  });
});
