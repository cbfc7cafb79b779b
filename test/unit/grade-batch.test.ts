import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSubmissionDirs, planSubmissions } from '../../src/lib/grade/batch.js';
import { formatBatchTable } from '../../src/lib/grade/format.js';
import type { LabResult } from '../../src/lib/grade/grade.js';
import { submissionName } from '../../src/lib/grade/grade.js';
import { cleanKeptGrades, dropIfEmpty, gradeStamp, kept_grades_per_submission_max, newGradeDir } from '../../src/lib/grade/kept.js';
import { checkOutputs, outputProblem, reportOutputs, writeReports } from '../../src/lib/grade/outputs.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-grade-batch-');
const running_as_root = process.getuid?.() === 0;

/** A folder of student folders: each name maps to the files it holds. */
function classroom(students: Record<string, string[]>): string {
  const root = tempDir();
  for (const [name, files] of Object.entries(students)) {
    mkdirSync(path.join(root, 'students', name), { recursive: true });
    for (const file of files) writeFileSync(path.join(root, 'students', name, file), '# code\n');
  }
  return root;
}

describe('report paths, checked before the first test', () => {
  it('names the flag and what is wrong: a missing folder, a folder given as the file, two reports in one file', () => {
    const dir = tempDir();
    expect(outputProblem(path.join(dir, 'r.html'))).toBeNull();
    expect(outputProblem(path.join(dir, 'nope', 'r.html'))).toBe(`the folder ${path.join(dir, 'nope')} does not exist (create it first)`);
    expect(outputProblem(dir)).toMatch(/ is a folder: give a file name in it/);
    expect(() => checkOutputs(reportOutputs({ html: '/nonexistent/dir/r.html' }, ['alice']))).toThrow(/^--html: cannot write the HTML report to \/nonexistent\/dir\/r\.html: the folder \/nonexistent\/dir does not exist/);
    expect(() => checkOutputs(reportOutputs({ junit: dir }, ['alice']))).toThrow(/^--junit: cannot write the JUnit report to .* is a folder/);
    expect(() => checkOutputs(reportOutputs({ summary: path.join(dir, 'x', 's.ndjson') }, ['alice']))).toThrow(/^--summary: /);
    expect(() => checkOutputs(reportOutputs({ junit: path.join(dir, 'r'), summary: path.join(dir, 'r') }, ['alice']))).toThrow(/^--junit and --summary both name /);
  });

  it.skipIf(running_as_root)('refuses a folder it cannot write in', () => {
    const dir = tempDir();
    const locked = path.join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      expect(outputProblem(path.join(locked, 'r.xml'))).toBe(`the folder ${locked} is not writable`);
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  it('a batch needs {} in --html (a page per submission) and checks each page', () => {
    const dir = tempDir();
    expect(() => reportOutputs({ html: path.join(dir, 'r.html') }, ['alice', 'bob'])).toThrow(/^--html: with several submissions, write \{\} where each one's name goes/);
    expect(reportOutputs({ html: path.join(dir, '{}.html') }, ['alice', 'bob']).map((o) => path.basename(o.file))).toEqual(['alice.html', 'bob.html']);
  });

  it('a write that fails after grading is one line naming the flag, and the other reports are still written', () => {
    const dir = tempDir();
    const junit = path.join(dir, 'r.xml');
    const summary = path.join(dir, 's.ndjson');
    // Checked before, removed during the grade: the folder is gone when the report is written.
    const { written, failures } = writeReports({ junit, html: path.join(dir, 'gone', 'r.html'), summary }, [labResult('alice', 10)]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^could not write the HTML report to .*gone\/r\.html \(--html\): ENOENT/);
    expect(failures[0]).not.toContain('\n');
    expect(written.map((w) => w.file)).toEqual([junit, summary]);
  });

  it('--summary is appended to, one line per test run, never overwritten', () => {
    const summary = path.join(tempDir(), 's.ndjson');
    writeReports({ summary }, [labResult('alice', 10)]);
    writeReports({ summary }, [labResult('bob', 0)], [{ lab: 'echo', submission: 'carol', error: 'no node.py' }]);
    const rows = readFileSync(summary, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { submission: string });
    expect(rows.map((r) => r.submission)).toEqual(['alice', 'alice', 'bob', 'bob', 'carol']);
  });
});

describe('batch planning', () => {
  it('finds submission folders by a glob or as the subfolders of a folder, skipping files and hidden folders', () => {
    const root = classroom({ alice: ['node.py'], bob: ['node.ts'], '.git': [] });
    writeFileSync(path.join(root, 'students', 'README.md'), 'class\n');
    expect(findSubmissionDirs('students/*', root)).toEqual(['students/alice', 'students/bob']);
    expect(findSubmissionDirs('students', root)).toEqual(['students/alice', 'students/bob']);
    expect(findSubmissionDirs('students/b*', root)).toEqual(['students/bob']);
    expect(findSubmissionDirs(path.join(root, 'students', 'a?ice'), root)).toEqual([path.join(root, 'students', 'alice')]);
    expect(() => findSubmissionDirs('classes', root)).toThrow('--submissions: classes does not exist');
    expect(() => planSubmissions(findSubmissionDirs('students/z*', root), undefined)).toThrow('--submissions matched no folder');
  });

  it("replaces {} in --bin by each submission's folder, and refuses a --bin without {}", () => {
    const root = classroom({ alice: ['node.py'], 'bob smith': ['node.py'] });
    const dirs = findSubmissionDirs(path.join(root, 'students/*'));
    const [alice, bob] = planSubmissions(dirs, 'python3 {}/node.py');
    expect(alice).toEqual({ name: 'alice', dir: dirs[0], bin: `python3 ${dirs[0]}/node.py`, problem: null });
    // A space in a folder's name stays inside one word of the command.
    expect(bob!.bin).toBe(`python3 ${dirs[1]!.replaceAll(' ', '\\ ')}/node.py`);
    expect(() => planSubmissions(dirs, 'python3 node.py')).toThrow(/^with --submissions, --bin needs \{\} where each submission's folder goes/);
  });

  it("without --bin runs the starter's entry file each folder holds, and says why one cannot run", () => {
    const root = classroom({ alice: ['node.py'], bob: ['node.ts'], carol: ['main.py'], dave: ['node.py', 'node.ts'] });
    const plan = planSubmissions(findSubmissionDirs(path.join(root, 'students')), undefined);
    expect(plan.map((s) => s.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(plan[0]!.bin).toBe(`python3 ${path.join(root, 'students', 'alice', 'node.py')}`);
    expect(plan[1]!.bin).toMatch(/^node --import file:\/\/\S+ \S+\/students\/bob\/node\.ts$/);
    expect(plan[2]).toMatchObject({ bin: null, problem: expect.stringMatching(/students\/carol holds no node\.py or node\.ts .*give --bin with \{\}/) });
    expect(plan[3]).toMatchObject({ bin: null, problem: expect.stringMatching(/holds both node\.py or node\.ts/) });
  });

  it('a --bin naming a file a submission lacks marks that submission as not runnable', () => {
    const root = classroom({ alice: ['main.py'], bob: ['node.py'] });
    const plan = planSubmissions(findSubmissionDirs(path.join(root, 'students', '*')), 'python3 {}/main.py');
    expect(plan[0]!.problem).toBeNull();
    expect(plan[1]).toMatchObject({ bin: null, problem: expect.stringMatching(/students\/bob\/main\.py does not exist \(--bin python3 \{\}\/main\.py\)$/) });
  });

  it('refuses two submissions of the same name (they would share a JUnit suite and a kept folder)', () => {
    const root = tempDir();
    for (const dir of ['a/alice', 'b/alice']) mkdirSync(path.join(root, dir), { recursive: true });
    expect(() => planSubmissions(findSubmissionDirs(path.join(root, '*', '*')), 'python3 {}/node.py')).toThrow(/two submissions are named alice/);
  });

  it('names a single submission after the folder of the program --bin runs', () => {
    const root = classroom({ alice: ['node.py'] });
    expect(submissionName({ bin: 'python3 students/alice/node.py' }, root)).toBe('alice');
    expect(submissionName({ bin: 'my-node --fast' }, root)).toBe('my-node');
    expect(submissionName({ reference: true }, root)).toBe('reference');
  });

  it('the final table has a row per submission: its score and failed tests, or why it was not graded', () => {
    const table = formatBatchTable([
      { submission: { name: 'alice', dir: 'students/alice', bin: 'x', problem: null }, result: labResult('alice', 10), error: null },
      { submission: { name: 'bob', dir: 'students/bob', bin: 'x', problem: null }, result: labResult('bob', 4), error: null },
      { submission: { name: 'carol', dir: 'students/carol', bin: null, problem: 'p' }, result: null, error: 'students/carol holds no node.py or node.ts' },
    ]);
    const lines = table.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    expect(lines[0]).toMatch(/^Submission\s+Score\s+Failed tests$/);
    expect(lines[1]).toMatch(/^alice\s+10\/10\s+none$/);
    expect(lines[2]).toMatch(/^bob\s+4\/10\s+every-node-echoes$/);
    expect(lines[3]).toMatch(/^carol\s+-\s+not graded: students\/carol holds no node\.py or node\.ts$/);
  });
});

describe('kept grade folders', () => {
  it('are named by submission, lab and time, and only the latest few per submission stay', () => {
    const home = tempDir();
    const made: string[] = [];
    for (let i = 0; i < kept_grades_per_submission_max + 2; i++) {
      const dir = newGradeDir(home, 'echo', 'alice', new Date(Date.UTC(2026, 11, 7, 12, 0, i)));
      mkdirSync(path.join(dir, 'echoes-payload-7'), { recursive: true });
      made.push(dir);
    }
    mkdirSync(path.join(newGradeDir(home, 'echo', 'bob'), 'x'), { recursive: true });
    expect(path.basename(made[0]!)).toBe(`alice-${gradeStamp(new Date(Date.UTC(2026, 11, 7, 12, 0, 0)))}`);
    expect(gradeStamp(new Date(Date.UTC(2026, 11, 7, 12, 0, 5)))).toBe('20261207-120005');
    const left = readdirSync(path.join(home, 'echo')).sort();
    expect(left.filter((n) => n.startsWith('alice-'))).toEqual(made.slice(-kept_grades_per_submission_max).map((d) => path.basename(d)));
    expect(left.filter((n) => n.startsWith('bob-'))).toHaveLength(1);
  });

  it('a grade that kept nothing leaves no folder, and --clean removes them all or one lab\'s', () => {
    const home = tempDir();
    const empty = newGradeDir(home, 'echo', 'alice');
    mkdirSync(empty, { recursive: true });
    dropIfEmpty(empty);
    expect(existsSync(empty)).toBe(false);
    mkdirSync(path.join(newGradeDir(home, 'echo', 'alice'), 't-1'), { recursive: true });
    mkdirSync(path.join(newGradeDir(home, 'raft-election', 'bob'), 't-2'), { recursive: true });
    expect(cleanKeptGrades(home, 'echo')).toHaveLength(1);
    expect(readdirSync(home)).toEqual(['raft-election']);
    expect(cleanKeptGrades(home)).toHaveLength(1);
    expect(existsSync(home)).toBe(false);
  });
});

function labResult(submission: string, score: number): LabResult {
  const test = (name: string, passed: boolean) => ({
    lab: 'echo', test: name, description: name, points: passed ? 6 : 4, earned: passed ? 6 : 0, passed, seed: 1, elapsed_ms: 10,
    failure: passed ? null : 'n1 answered echo with error 10', cause: null, replay: 'dslab grade echo', kept_dir: null, timeline: [], nodes: ['n1'], bad_ops: [], nonlinearizable: null, started_at_ms: 0,
  });
  return { lab: 'echo', title: 'Warm-up: echo', submission, target: '--bin x', score, max_score: 10, results: [test('echoes-payload', true), test('every-node-echoes', score === 10)], not_run: [], elapsed_ms: 20 };
}
