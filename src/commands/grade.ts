import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { integerFlag } from '../cli/flags.js';
import { seed_max } from '../lib/util/prng.js';
import { UserError } from '../lib/util/errors.js';
import { findSubmissionDirs, gradeSubmissions, parallel_max, planSubmissions, type SubmissionOutcome } from '../lib/grade/batch.js';
import { gradeHome, gradeLab, gradeTarget, repeat_max, selectTests, submissionName } from '../lib/grade/grade.js';
import { formatBatchTable, formatScore, formatTestLine } from '../lib/grade/format.js';
import { cleanKeptGrades, kept_grades_per_submission_max } from '../lib/grade/kept.js';
import { checkOutputs, reportOutputs, writeReports, type ReportFlags } from '../lib/grade/outputs.js';
import { toJson } from '../lib/grade/reports.js';
import { loadLab, type LabSpec } from '../lib/grade/spec.js';
import { findSystem, lab_plugins } from '../registry.js';

/** Exit codes a CI script reads (also in the help below). */
const exit_not_full_marks = 1;
const exit_report_not_written = 2;

export default class Grade extends BaseCommand {
  static override summary = "Grade an implementation against a lab's tests: real processes, real faults, a score.";
  static override description = [
    'Runs each test of the lab on a fresh cluster of your nodes, with the faults and checks the lab specifies. Every failure says what broke, its likely cause, the seed, and the one command that replays it; its node logs, trace and history are kept in .dslab/grade/LAB/SUBMISSION-TIME/ (the latest ' +
      `${kept_grades_per_submission_max} grades per submission; --clean removes them).`,
    '',
    'Batch grading (an instructor\'s): --submissions names a folder per student, as a glob ("students/*", quoted) or a folder whose subfolders they are. Each is graded as --bin says, with {} replaced by its folder, or, without --bin, by the starter\'s entry file it holds (python3 {}/node.py, or {}/node.ts). They run one after another, or --parallel N at once. The JUnit report has one suite per student, named after the folder; --summary gets one line per test run of each; --html needs {} in its path for one page per student; a table of scores and failed tests ends the run.',
    '',
    'Report files are checked before the first test runs. --summary is appended to, never overwritten.',
    '',
    `Exit codes: 0 full marks (a batch: every submission graded) and every report written; ${exit_not_full_marks} below full marks (a batch: some submission could not be graded), or bad input; ${exit_report_not_written} a report could not be written (the score is still printed).`,
  ].join('\n');
  static override examples = [
    '<%= config.bin %> grade raft-election --bin "python3 my-raft/node.py"',
    '<%= config.bin %> grade raft-election --reference',
    '<%= config.bin %> grade raft-election --bin "python3 my-raft/node.py" --only initial-election --seed 42',
    '<%= config.bin %> grade kv-linearizable --bin "python3 my-raft/node.py" --junit report.xml --html report.html --summary report.ndjson --repeat 3',
    '<%= config.bin %> grade raft-replication --bin "python3 my-raft/node.py" --bail',
    '<%= config.bin %> grade echo --submissions "students/*" --bin "python3 {}/node.py" --junit class.xml --summary class.ndjson',
    '<%= config.bin %> grade raft-election --submissions students --parallel 2 --html "reports/{}.html"',
    '<%= config.bin %> grade --clean',
  ];
  static override args = { lab: Args.string({ required: false, description: 'lab id (dslab lab list)' }) };
  static override flags = {
    bin: Flags.string({ description: 'command that runs one node of your implementation (with --submissions: {} is each submission\'s folder)', helpValue: 'CMD' }),
    reference: Flags.boolean({ description: "grade dslab's own implementation instead" }),
    submissions: Flags.string({ description: 'grade many submissions, one folder each: a glob ("students/*") or a folder of them', helpValue: 'GLOB|DIR' }),
    parallel: integerFlag({ default: 1, description: 'with --submissions, grade this many at once (each runs whole clusters)', range: { min: 1, max: parallel_max } }),
    name: Flags.string({ description: "the submission's name in reports and kept folders (default: the folder of the program --bin runs)", helpValue: 'NAME' }),
    only: Flags.string({ description: 'run only this test', helpValue: 'TEST' }),
    seed: integerFlag({ description: 'seed for every test run (replays a failure)', range: { min: 0, max: seed_max } }),
    repeat: integerFlag({ default: 1, description: 'run each test N times (hunts flaky implementations)', range: { min: 1, max: repeat_max } }),
    bail: Flags.boolean({ description: 'stop at the first failed test run (the rest score 0)' }),
    junit: Flags.string({ description: 'write a JUnit XML report here (one suite per submission)', helpValue: 'FILE' }),
    html: Flags.string({ description: 'write a self-contained HTML report here ({} in it: the submission\'s name)', helpValue: 'FILE' }),
    summary: Flags.string({ description: 'append one JSON line per test run here (NDJSON)', helpValue: 'FILE' }),
    clean: Flags.boolean({ description: 'remove the kept grade folders (of LAB, or of every lab) and grade nothing' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Grade);
    if (flags.clean) return this.clean(args.lab, flags);
    if (args.lab === undefined) throw new UserError('give the lab to grade (dslab lab list shows them), or --clean to remove kept grade folders');
    const lab = loadLab(args.lab, lab_plugins);
    const reports: ReportFlags = { junit: flags.junit, html: flags.html, summary: flags.summary };
    const options = { seed: flags.seed, only: flags.only, repeat: flags.repeat, bail: flags.bail, program: this.program() };
    selectTests(lab, options);
    if (flags.submissions !== undefined) return this.batch(lab, flags.submissions, flags, reports, options);
    if (flags.parallel !== 1) throw new UserError('--parallel grades several submissions at once: give --submissions too');
    const submission = flags.name ?? submissionName(flags);
    // Everything the grade can refuse is refused before the first test: its target, then its report files.
    gradeTarget(lab, findSystem(lab.reference), { ...options, bin: flags.bin, reference: flags.reference });
    checkOutputs(reportOutputs(reports, [submission]));
    const json = this.jsonEnabled();
    const live = process.stdout.isTTY && !json;
    let spinner: NodeJS.Timeout | undefined;
    const result = await gradeLab(lab, findSystem(lab.reference), { ...options, bin: flags.bin, reference: flags.reference, submission }, {
      onStart: (tests) => {
        if (!json) this.log(`${lab.title} (${lab.id}): ${tests.length === lab.tests.length ? `${tests.length} tests` : `${tests.length} of ${lab.tests.length} tests`}`);
      },
      onTestStart: (test, run, of) => {
        if (!live) return;
        const started = Date.now();
        const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let frame = 0;
        spinner = setInterval(() => {
          process.stdout.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${test}${of > 1 ? ` (run ${run}/${of})` : ''}  ${((Date.now() - started) / 1000).toFixed(1)}s`);
        }, 100);
      },
      onTestEnd: (r) => {
        clearInterval(spinner);
        if (live) process.stdout.write('\r\x1b[2K');
        if (!json) this.log(formatTestLine(r));
      },
    });
    const { written, failures } = writeReports(reports, [result]);
    if (!json) {
      this.log('');
      this.log(formatScore(result));
      for (const report of written) this.log(`${report.what}: ${report.file}`);
    }
    for (const failure of failures) this.logToStderr(`dslab: ${failure}`);
    process.exitCode = failures.length > 0 ? exit_report_not_written : result.score !== result.max_score ? exit_not_full_marks : 0;
    return JSON.parse(toJson(result));
  }

  private async batch(lab: LabSpec, pattern: string, flags: { bin?: string | undefined; reference: boolean; name?: string | undefined; parallel: number }, reports: ReportFlags, options: { seed?: number | undefined; only?: string | undefined; repeat: number; bail: boolean; program: string }): Promise<unknown> {
    if (flags.reference) throw new UserError('--reference grades dslab\'s own implementation, --submissions the students\': give one of them');
    if (flags.name !== undefined) throw new UserError('--name names one submission; with --submissions each is named after its folder');
    const submissions = planSubmissions(findSubmissionDirs(pattern), flags.bin);
    checkOutputs(reportOutputs(reports, submissions.map((s) => s.name)));
    const json = this.jsonEnabled();
    const prefix = (name: string) => (flags.parallel > 1 ? `[${name}] ` : '    ');
    if (!json) this.log(`${lab.title} (${lab.id}): ${submissions.length} submission${submissions.length === 1 ? '' : 's'}${flags.parallel > 1 ? `, ${flags.parallel} at once` : ''}`);
    const outcomes = await gradeSubmissions(lab, findSystem(lab.reference), submissions, { ...options, parallel: flags.parallel }, {
      onSubmissionStart: (s) => {
        if (!json && flags.parallel === 1) this.log(`\n${s.name} (${s.bin ?? 'nothing to run'})`);
      },
      onTestEnd: (s, r) => {
        if (!json) this.log(formatTestLine(r).split('\n').map((line) => prefix(s.name) + line).join('\n'));
      },
      onSubmissionEnd: (o) => {
        if (json) return;
        const line = o.result ? formatScore(o.result) : `not graded: ${o.error}`;
        this.log(`${flags.parallel > 1 ? `[${o.submission.name}] ` : ''}${line}`);
      },
    });
    const graded = outcomes.flatMap((o) => (o.result ? [o.result] : []));
    const not_graded = outcomes.flatMap((o) => (o.result ? [] : [{ lab: lab.id, submission: o.submission.name, error: o.error ?? 'not graded' }]));
    const { written, failures } = writeReports(reports, graded, not_graded);
    if (!json) {
      this.log('');
      this.log(formatBatchTable(outcomes));
      for (const report of written) this.log(`${report.what}: ${report.file}`);
    }
    for (const failure of failures) this.logToStderr(`dslab: ${failure}`);
    process.exitCode = failures.length > 0 ? exit_report_not_written : not_graded.length > 0 ? exit_not_full_marks : 0;
    return { lab: lab.id, submissions: outcomes.map(batchJson) };
  }

  private clean(lab: string | undefined, flags: { bin?: string | undefined; reference: boolean; submissions?: string | undefined }): unknown {
    if (flags.bin !== undefined || flags.reference || flags.submissions !== undefined) throw new UserError('--clean removes kept grade folders and grades nothing: give it alone, or with a lab');
    if (lab !== undefined) loadLab(lab, lab_plugins);
    const removed = cleanKeptGrades(gradeHome(), lab);
    if (!this.jsonEnabled()) this.log(removed.length ? `removed ${removed.length} kept grade folder${removed.length === 1 ? '' : 's'}${lab ? ` of ${lab}` : ''} from ${gradeHome()}` : `no kept grade folders${lab ? ` of ${lab}` : ''} in ${gradeHome()}`);
    return { removed };
  }
}

/** A submission in the batch's --json output: its grade as `dslab grade --json` gives one, or why it was not graded. */
function batchJson(outcome: SubmissionOutcome): Record<string, unknown> {
  const { submission, result, error } = outcome;
  const base = { submission: submission.name, dir: submission.dir, bin: submission.bin };
  if (!result) return { ...base, graded: false, error };
  return { ...base, graded: true, ...(JSON.parse(toJson(result)) as Record<string, unknown>) };
}
