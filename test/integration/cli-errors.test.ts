import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir } from '../helpers/cli.js';

/** Bad input: exit code 1 and one human line on stderr, never a stack trace. */
async function expectOneLineError(cwd: string, args: string[], pattern: RegExp): Promise<void> {
  const result = await dslab(cwd, ...args);
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
    [['up', 'nosuchsystem', '--detach'], /^dslab: unknown system "nosuchsystem" \(built in: echo, unique-ids, raft; or pass --bin CMD/],
    [['up', 'echo', '--nodes', '0', '--detach'], /^dslab: --nodes must be between 1 and 25, got 0/],
    [['up', 'echo', '--name', 'a/b', '--detach'], /^dslab: bad cluster name "a\/b"/],
    [['frobnicate'], /^dslab: command frobnicate not found/],
    [['kill'], /^dslab: Missing 1 required arg/],
    [['status', '--bogus'], /^dslab: Nonexistent flag: --bogus/],
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
    [['kill', 'leader'], /^dslab: no node reports itself leader right now/],
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
    [['logs', 'n8'], /^dslab: unknown node "n8"/],
  ])('dslab %j', async (args, pattern) => {
    await expectOneLineError(cwd, args as string[], pattern);
  });
});
