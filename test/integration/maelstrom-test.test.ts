import { chmodSync, existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, controlStatus, dslab, dslabSpawn, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

// `dslab test` end to end: Maelstrom's command line against real node processes, its verdict,
// exit codes and the run folder. Runs are kept short (a second or two); the one run with final
// reads waits Maelstrom's 10 s for recovery.

const echo_main = path.join(repo_root, 'dist', 'systems', 'echo', 'main.js');
const forgetful = path.join(repo_root, 'test', 'fixtures', 'forgetful-broadcast.mjs');

/** A --bin as Maelstrom takes it: an executable file in `cwd`, run as it is. */
function writeBin(cwd: string, name: string, main: string): void {
  writeFileSync(path.join(cwd, name), `#!/bin/sh\nexec "${process.execPath}" "${main}" "$@"\n`);
  chmodSync(path.join(cwd, name), 0o755);
}

// The run with final reads mostly waits (Maelstrom's 10 s), so it runs beside the others in a folder of its own.
describe.concurrent('dslab test', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
    writeBin(cwd, 'echo.sh', echo_main);
    writeFileSync(path.join(cwd, 'not-executable.py'), 'print(1)\n');
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it.sequential('runs echo on nodes n0..n1 and says valid first, exit 0, the run kept with a latest link', async () => {
    const run = await dslab(cwd, 'test', '-w', 'echo', '--bin', './echo.sh', '--node-count', '2', '--time-limit', '2', '--rate', '20');
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const verdict = run.stdout.split('\n').find((line) => /^(valid|invalid|unknown):/.test(line));
    expect(verdict).toMatch(/^valid: all \d+ echoes came back as sent/);
    const latest = path.join(cwd, '.dslab', 'store', 'latest');
    const dir = realpathSync(latest);
    expect(realpathSync(path.join(cwd, '.dslab', 'store', 'echo', 'latest'))).toBe(dir);
    const results = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8'));
    expect(results.verdict).toBe('valid');
    expect(results.nodes).toEqual(['n0', 'n1']);
    const history = readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(history[0]!)).toEqual({ type: 'workload', workload: 'echo' });
    const ops = history.slice(1).map((line) => JSON.parse(line));
    expect(ops.length).toBe(results.operations[0].count);
    // Clients are bound to nodes: both nodes served.
    expect(new Set(ops.map((op) => op.node))).toEqual(new Set(['n0', 'n1']));
    expect(existsSync(path.join(dir, 'trace.jsonl'))).toBe(true);
    expect(existsSync(path.join(dir, 'nodes', 'n0.log'))).toBe(true);
    // The report is written with the run (test/maelstrom/report.test.ts opens one in a browser).
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(run.stdout).toMatch(/the report: \.dslab\/store\/echo\/[^/]+\/report\.html/);
    // The cluster is gone when the command returns.
    const status = await dslab(cwd, 'status', '--cluster', 'test-echo');
    expect(status.exitCode).not.toBe(0);
  });

  it.sequential('is a real cluster while it runs: a partition from another terminal joins the run and its timeline', async () => {
    const run = dslabSpawn(cwd, 'test', '-w', 'echo', '--bin', './echo.sh', '--node-count', '3', '--time-limit', '4', '--rate', '10', '--json');
    await waitFor('the test cluster to run', async () => (await controlStatus(cwd, 'test-echo')).nodes.length > 0);
    const partition = await dslab(cwd, 'partition', '--isolate', 'n1', '--cluster', 'test-echo');
    expect(partition.exitCode).toBe(0);
    const done = await run;
    expect(done.exitCode).toBe(0);
    const result = JSON.parse(String(done.stdout));
    const cli = result.faults.filter((f: { source: string }) => f.source === 'cli');
    expect(cli).toHaveLength(1);
    expect(cli[0].kind).toBe('partition');
    expect(cli[0].description).toMatch(/n1/);
  });

  it.sequential('--json prints the results for scripts', async () => {
    const run = await dslab(cwd, 'test', '-w', 'unique-ids', '--bin', `${process.execPath} ${path.join(repo_root, 'dist', 'systems', 'unique-ids', 'main.js')}`, '--node-count', '3', '--time-limit', '1', '--rate', '50', '--json');
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.verdict).toBe('valid');
    expect(result.nodes).toEqual(['n0', 'n1', 'n2']);
    expect(result.checks[0].details.duplicated_count).toBe(0);
    expect(result.net.clients.send_count).toBeGreaterThan(0);
  });

  it.sequential('refuses bad arguments with one line and exit 254, as Maelstrom does', async () => {
    const unknown = await dslab(cwd, 'test', '-w', 'nope', '--bin', './echo.sh');
    expect(unknown.exitCode).toBe(254);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^dslab: .*nope/);
    const missing = await dslab(cwd, 'test', '-w', 'echo');
    expect(missing.exitCode).toBe(254);
    expect(missing.stderr).toMatch(/--bin/);
    const notExecutable = await dslab(cwd, 'test', '-w', 'echo', '--bin', 'not-executable.py', '--time-limit', '1');
    expect(notExecutable.exitCode).not.toBe(0);
    expect(notExecutable.stderr).toMatch(/^dslab: --bin not-executable.py is not executable/);
  });

  it.sequential('--dry-run shows the plan with Maelstrom defaults; a Unicode dash is read as the flag, with a note', async () => {
    const defaults = await dslab(cwd, 'test', '-w', 'broadcast', '--bin', './echo.sh', '--dry-run');
    expect(defaults.exitCode).toBe(0);
    expect(defaults.stdout).toMatch(/^nodes\s+5: n1 n2 n3 n4 n5$/m);
    expect(defaults.stdout).toMatch(/^topology\s+grid$/m);
    const dashed = await dslab(cwd, 'test', '-w', 'echo', '--bin', './echo.sh', '\u2014node-count', '2', '--dry-run');
    expect(dashed.exitCode).toBe(0);
    expect(dashed.stdout).toMatch(/^nodes\s+2: n0 n1$/m);
    expect(dashed.stderr).toMatch(/^dslab: note: .*dash/m);
  });
});

describe.concurrent('dslab test finding a bug', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
    writeBin(cwd, 'forgetful.sh', forgetful);
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('finds lost broadcasts after healing and the final reads: invalid, exit 1', async () => {
    const run = await dslab(cwd, 'test', '-w', 'broadcast', '--bin', './forgetful.sh', '--node-count', '1', '--time-limit', '2', '--rate', '30');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^invalid: \d+ of \d+ broadcasts were lost/m);
    const results = JSON.parse(readFileSync(path.join(cwd, '.dslab', 'store', 'latest', 'results.json'), 'utf8'));
    expect(results.verdict).toBe('invalid');
    expect(results.checks[0].details.lost_count).toBeGreaterThan(0);
    // The final reads, one per client, came after the main phase.
    const finals = readFileSync(results.files.history, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l)).filter((op) => op.final);
    expect(finals).toHaveLength(1);
    expect(finals[0].call_ms).toBeGreaterThanOrEqual(results.main_phase_end_ms);
    expect(results.failures.length).toBeGreaterThan(0);
  }, 60_000);
});
