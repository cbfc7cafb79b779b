import { Args, Flags } from '@oclif/core';
import { writeFileSync } from 'node:fs';
import { BaseCommand } from '../cli/base.js';
import { integerFlag } from '../cli/flags.js';
import { seed_max } from '../lib/util/prng.js';
import { gradeLab, repeat_max } from '../lib/grade/grade.js';
import { formatScore, formatTestLine } from '../lib/grade/format.js';
import { toHtml, toJson, toJunit, toNdjson } from '../lib/grade/reports.js';
import { loadLab } from '../lib/grade/spec.js';
import { findSystem, lab_plugins } from '../registry.js';

export default class Grade extends BaseCommand {
  static override summary = "Grade an implementation against a lab's tests: real processes, real faults, a score.";
  static override description =
    'Runs each test of the lab on a fresh cluster of your nodes, with the faults and checks the lab specifies. Every failure says what broke, its likely cause, the seed, and the one command that replays it; its node logs, trace and history are kept. Exit code 0 only with full marks.';
  static override examples = [
    '<%= config.bin %> grade raft-election --bin "python3 my-raft/node.py"',
    '<%= config.bin %> grade raft-election --reference',
    '<%= config.bin %> grade raft-election --bin "python3 my-raft/node.py" --only initial-election --seed 42',
    '<%= config.bin %> grade kv-linearizable --bin "python3 my-raft/node.py" --junit report.xml --html report.html --summary report.ndjson --repeat 3',
    '<%= config.bin %> grade raft-replication --bin "python3 my-raft/node.py" --bail',
  ];
  static override args = { lab: Args.string({ required: true, description: 'lab id (dslab lab list)' }) };
  static override flags = {
    bin: Flags.string({ description: 'command that runs one node of your implementation', helpValue: 'CMD' }),
    reference: Flags.boolean({ description: "grade dslab's own implementation instead" }),
    only: Flags.string({ description: 'run only this test', helpValue: 'TEST' }),
    seed: integerFlag({ description: 'seed for every test run (replays a failure)', range: { min: 0, max: seed_max } }),
    repeat: integerFlag({ default: 1, description: 'run each test N times (hunts flaky implementations)', range: { min: 1, max: repeat_max } }),
    bail: Flags.boolean({ description: 'stop at the first failed test run (the rest score 0)' }),
    junit: Flags.string({ description: 'write a JUnit XML report here', helpValue: 'FILE' }),
    html: Flags.string({ description: 'write a self-contained HTML report here', helpValue: 'FILE' }),
    summary: Flags.string({ description: 'write one JSON line per test run here (NDJSON)', helpValue: 'FILE' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Grade);
    const lab = loadLab(args.lab, lab_plugins);
    const json = this.jsonEnabled();
    const live = process.stdout.isTTY && !json;
    const program = this.program();
    let spinner: NodeJS.Timeout | undefined;
    const options = { bin: flags.bin, reference: flags.reference, seed: flags.seed, only: flags.only, repeat: flags.repeat, bail: flags.bail, program };
    const result = await gradeLab(lab, findSystem(lab.reference), options, {
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
    if (flags.junit) writeFileSync(flags.junit, toJunit(result));
    if (flags.html) writeFileSync(flags.html, toHtml(result));
    if (flags.summary) writeFileSync(flags.summary, toNdjson(result));
    if (!json) {
      this.log('');
      this.log(formatScore(result));
      if (flags.junit) this.log(`JUnit report: ${flags.junit}`);
      if (flags.html) this.log(`HTML report: ${flags.html}`);
      if (flags.summary) this.log(`Summary (one JSON line per test run): ${flags.summary}`);
    }
    if (result.score !== result.max_score) process.exitCode = 1;
    return JSON.parse(toJson(result));
  }
}
