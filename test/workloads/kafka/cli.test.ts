import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir, repo_root } from '../../helpers/cli.js';

// `dslab test -w kafka` end to end on a one-node kafka (test/fixtures/kafka-node.mjs), and
// `dslab check` on the history it leaves. One run: it waits Maelstrom's 10 s for recovery.

const kafka_main = path.join(repo_root, 'test', 'fixtures', 'kafka-node.mjs');

describe('dslab test -w kafka', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('finds the reference node valid (exit 0) after its final polls, and dslab check agrees on the history', async () => {
    const run = await dslab(cwd, 'test', '-w', 'kafka', '--bin', process.execPath, kafka_main, '--node-count', '1', '--time-limit', '3', '--rate', '30');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^valid: /m);
    const dir = realpathSync(path.join(cwd, '.dslab', 'store', 'latest'));
    const history = path.join(dir, 'history.jsonl');
    const ops = readFileSync(history, 'utf8').trim().split('\n').slice(1).map((line) => JSON.parse(line));
    expect(ops.some((op) => op.f === 'send' && op.outcome === 'ok')).toBe(true);
    expect(ops.some((op) => op.f === 'poll' && op.final && op.outcome === 'ok')).toBe(true);
    const check = await dslab(cwd, 'check', history);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/acknowledged sends were polled/);
  }, 120_000);
});
