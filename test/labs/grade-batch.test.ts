import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir, repo_root } from '../helpers/cli.js';

/**
 * Batch grading against real processes, kept quick: the echo lab's one-node
 * test, three submissions (the reference solution, the untouched starter, and
 * a folder with nothing to run), one after another.
 */
describe('dslab grade --submissions', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = makeWorkdir();
    const solution = path.join(repo_root, 'labs', 'echo', 'solution', 'node.py');
    mkdirSync(path.join(cwd, 'students', 'alice'), { recursive: true });
    writeFileSync(path.join(cwd, 'students', 'alice', 'node.py'), `import runpy\nrunpy.run_path(${JSON.stringify(solution)}, run_name="__main__")\n`);
    // bob hands in the starter as `lab init` wrote it: echo answers "not implemented yet".
    const init = await dslab(cwd, 'lab', 'init', 'echo', 'students/bob');
    expect(init.exitCode, init.stderr).toBe(0);
    mkdirSync(path.join(cwd, 'students', 'carol'));
    writeFileSync(path.join(cwd, 'students', 'carol', 'main.py'), 'print("hi")\n');
    mkdirSync(path.join(cwd, 'reports'));
  }, 60_000);
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('checks report paths before any test runs, in one line', async () => {
    const run = await dslab(cwd, 'grade', 'echo', '--submissions', 'students/*', '--html', '/nonexistent/dir/{}.html');
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim()).toBe('dslab: --html: cannot write the HTML report of alice to /nonexistent/dir/alice.html: the folder /nonexistent/dir does not exist (create it first)');
    expect(run.stdout).toBe('');
    expect(existsSync(path.join(cwd, '.dslab', 'grade'))).toBe(false);
  });

  it('grades each submission by its starter entry file: a suite per student, the summary appended, a final table, kept folders per submission', async () => {
    writeFileSync(path.join(cwd, 'reports', 'class.ndjson'), '{"earlier":"line"}\n');
    const run = await dslab(cwd, 'grade', 'echo', '--submissions', 'students', '--only', 'echoes-payload', '--seed', '5', '--junit', 'reports/class.xml', '--summary', 'reports/class.ndjson', '--html', 'reports/{}.html');
    // carol has nothing to run: the batch says so in its exit code, after grading the others.
    expect(run.exitCode, run.stderr).toBe(1);
    const table = run.stdout.slice(run.stdout.lastIndexOf('Submission'));
    expect(table).toMatch(/^alice\s+4\/4\s+none$/m);
    expect(table).toMatch(/^bob\s+0\/4\s+echoes-payload$/m);
    expect(table).toMatch(/^carol\s+-\s+not graded: students\/carol holds no node\.py or node\.ts/m);
    expect(run.stdout).toContain("n1 answered echo with error 10 'echo is not implemented yet'");

    const xml = readFileSync(path.join(cwd, 'reports', 'class.xml'), 'utf8');
    expect([...xml.matchAll(/<testsuite name="([^"]*)"/g)].map((m) => m[1])).toEqual(['alice', 'bob', 'carol']);
    const lines = readFileSync(path.join(cwd, 'reports', 'class.ndjson'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('{"earlier":"line"}');
    expect(lines.slice(1).map((l) => (JSON.parse(l) as { submission: string }).submission)).toEqual(['alice', 'bob', 'carol']);
    expect(readdirSync(path.join(cwd, 'reports')).filter((f) => f.endsWith('.html')).sort()).toEqual(['alice.html', 'bob.html']);

    // Only bob failed: only bob has a kept folder, named after him, holding the failed test's logs.
    const kept = readdirSync(path.join(cwd, '.dslab', 'grade', 'echo'));
    expect(kept).toEqual([expect.stringMatching(/^bob-\d{8}-\d{6}$/)]);
    expect(readdirSync(path.join(cwd, '.dslab', 'grade', 'echo', kept[0]!))).toEqual(['echoes-payload-5']);

    const clean = await dslab(cwd, 'grade', '--clean');
    expect(clean.exitCode).toBe(0);
    expect(clean.stdout).toMatch(/^removed 1 kept grade folder from /);
    expect(existsSync(path.join(cwd, '.dslab', 'grade'))).toBe(false);
  }, 180_000);

  it('a report that cannot be written after grading is one dslab: line, the score is still printed, exit 2', async () => {
    // /dev/full passes the checks (a writable file) and refuses every write.
    const run = await dslab(cwd, 'grade', 'echo', '--reference', '--only', 'answers-init', '--summary', '/dev/full');
    expect(run.stdout).toMatch(/Warm-up: echo: 2\/2 points/);
    expect(run.stderr.trim()).toMatch(/^dslab: could not write the summary \(one JSON line per test run, appended\) to \/dev\/full \(--summary\): ENOSPC[^\n]*$/);
    expect(run.exitCode).toBe(2);
  }, 120_000);
});
