import { describe, expect, it } from 'vitest';
import { gradeTarget, type LabResult } from '../../src/lib/grade/grade.js';
import { notGradedNdjson, testSummary, toJson, toJunit, toNdjson } from '../../src/lib/grade/reports.js';
import type { TestResult } from '../../src/lib/grade/runner.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { echo } from '../../src/systems/echo/plugin.js';

function testResult(test: string, seed: number, passed: boolean, fields: Partial<TestResult> = {}): TestResult {
  return {
    lab: 'raft-election',
    test,
    description: `${test} works`,
    points: 10,
    earned: passed ? 10 : 0,
    passed,
    seed,
    elapsed_ms: 1234,
    failure: passed ? null : 'step 1 (wait_leader): no leader within 10000 ms; likely cause: every node stayed at term 0',
    cause: passed ? null : 'every node stayed at term 0',
    replay: `npx dslab grade raft-election --bin "python3 n.py" --only ${test} --seed ${seed}`,
    kept_dir: passed ? null : `/tmp/${test}-${seed}`,
    timeline: [{ t: 1, node: 'n1', kind: 'state', text: 'leader t1', role: 'leader', term: 1 }],
    nodes: ['n1', 'n2', 'n3'],
    bad_ops: [],
    started_at_ms: 1,
    ...fields,
  };
}

const result: LabResult = {
  lab: 'raft-election',
  title: 'Raft 1: leader election',
  submission: 'alice',
  target: '--bin "python3 n.py"',
  score: 10,
  max_score: 30,
  results: [testResult('initial-election', 7, true), testResult('reelection-after-leader-dies', 8, false)],
  not_run: ['no-leader-without-quorum'],
  elapsed_ms: 5000,
};

describe('grade reports', () => {
  it('JUnit names tests without their seed; seed, points and score are properties; a --bail stop is skipped', () => {
    const xml = toJunit([result]);
    expect(xml).toContain('<testcase classname="raft-election" name="initial-election" time="1.234">');
    expect(xml).not.toMatch(/<testcase [^>]*name="[^"]*seed/);
    expect(xml).toContain('<properties><property name="seed" value="7"/><property name="points" value="10"/><property name="earned" value="10"/></properties>');
    expect(xml).toContain('<property name="seed" value="8"/><property name="points" value="10"/><property name="earned" value="0"/>');
    expect(xml).toContain('<property name="score" value="10"/><property name="max_score" value="30"/>');
    expect(xml).toMatch(/<failure message="step 1 \(wait_leader\): no leader within 10000 ms; likely cause: every node stayed at term 0">[^<]*replay: npx dslab grade raft-election --bin &quot;python3 n.py&quot; --only reelection-after-leader-dies --seed 8/);
    expect(xml).toMatch(/<testcase classname="raft-election" name="no-leader-without-quorum" time="0.000">\s*<skipped message="not run: --bail stopped at the first failure"\/>/);
    expect(xml).toContain('<testsuite name="alice" tests="3" failures="1" errors="0" skipped="1"');
    expect(xml).toContain('<property name="lab" value="raft-election"/>');
  });

  it('JUnit has one suite per submission, named after it, and an errored suite for one that could not be graded', () => {
    const bob: LabResult = { ...result, submission: 'bob', score: 30, results: result.results.map((r) => ({ ...r, passed: true, earned: 10 })), not_run: [] };
    const xml = toJunit([result, bob], [{ lab: 'raft-election', submission: 'carol & co', error: 'students/carol holds no node.py or node.ts' }]);
    expect([...xml.matchAll(/<testsuite name="([^"]*)"/g)].map((m) => m[1])).toEqual(['alice', 'bob', 'carol &amp; co']);
    expect(xml).toMatch(/<testsuites name="dslab" tests="6" failures="1" errors="1" /);
    expect(xml).toMatch(/<testsuite name="bob" tests="2" failures="0" errors="0" skipped="0"/);
    expect(xml).toMatch(/<testsuite name="carol &amp; co" tests="1" failures="0" errors="1"[^>]*>\s*<testcase classname="raft-election" name="grade" time="0.000">\s*<error message="not graded: students\/carol holds no node.py or node.ts">/);
  });

  it('a summary line names its submission; one that could not be graded gets a line saying why', () => {
    expect((JSON.parse(toNdjson(result).split('\n')[0]!) as Record<string, unknown>).submission).toBe('alice');
    expect(JSON.parse(notGradedNdjson({ lab: 'echo', submission: 'carol', error: 'no node.py' }))).toEqual({ submission: 'carol', lab: 'echo', passed: false, error: 'no node.py' });
  });

  it('the NDJSON summary is one line per test run, each a whole JSON object', () => {
    const lines = toNdjson(result).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const rows = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => [r.test, r.passed, r.earned, r.seed, r.target])).toEqual([
      ['initial-election', true, 10, 7, '--bin "python3 n.py"'],
      ['reelection-after-leader-dies', false, 0, 8, '--bin "python3 n.py"'],
    ]);
    expect(rows[1]!.cause).toBe('every node stayed at term 0');
    expect(rows[1]!.replay).toContain('--seed 8');
  });

  it('the JSON report has the score and one summary per run, without the timelines', () => {
    const json = JSON.parse(toJson(result)) as Record<string, unknown> & { results: Record<string, unknown>[] };
    expect(json.score).toBe(10);
    expect(json.not_run).toEqual(['no-leader-without-quorum']);
    expect(json.results).toEqual(result.results.map(testSummary));
    expect(json.results[0]).not.toHaveProperty('timeline');
  });
});

describe('grade target', () => {
  const lab = loadLab('echo', lab_plugins);
  it('refuses to grade nothing, or both', () => {
    expect(() => gradeTarget(lab, echo, { repeat: 1 })).toThrow(/^nothing to grade: give --bin CMD .* or --reference/);
    expect(() => gradeTarget(lab, echo, { repeat: 1, reference: false })).toThrow(/^nothing to grade/);
    expect(() => gradeTarget(lab, echo, { repeat: 1, reference: true, bin: 'node x.js' })).toThrow('give --bin CMD or --reference, not both');
  });

  it('carries the program name into the replay command', () => {
    const target = gradeTarget(lab, echo, { repeat: 1, bin: 'python3 node.py', program: 'npx dslab' });
    expect(target).toMatchObject({ replay_flag: '--bin "python3 node.py"', program: 'npx dslab' });
    expect(target.groups.get(lab.tests[0]!.name)!.map((g) => g.command)).toEqual([['python3', 'node.py']]);
    expect(gradeTarget(lab, echo, { repeat: 1, reference: true }).program).toBe('dslab');
  });
});
