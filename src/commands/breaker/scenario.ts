import { Args, Flags } from '@oclif/core';
import path from 'node:path';
import { BaseCommand } from '../../cli/base.js';
import { dslabHome } from '../../lib/cluster/paths.js';
import { runStamp } from '../../maelstrom/run/test-run.js';
import { writeScenarioReport } from '../../systems/breaker/scenario-report.js';
import { runMetastableScenario, type ScenarioResult } from '../../systems/breaker/scenario.js';
import { requireSystem, workloads } from '../../registry.js';

/** Where scenarios are kept under dslab's home when --out is not given, one folder per run. */
const scenario_store = path.join('store', 'breaker-metastable');

export default class BreakerScenario extends BaseCommand {
  static override summary = 'Show a metastable failure: the same short latency spike near capacity leaves naive retries degraded, and a breaker with a retry budget recovers.';
  static override description =
    "Runs two clusters of the breaker system one after the other (about 15 s each). Each has d1 at a known capacity and an open-loop load at 80% of it; d1 is slowed for 3 s (as dslab fail d1 --latency does), then healed, and the load goes on. " +
    'Run A retries naively with no breaker; run B retries within a budget behind a breaker. Prints per run whether it stayed degraded after the spike or how soon it recovered, and how many calls reached d1 per request; ' +
    'keeps result.json, each run\'s trace and report.html (the timeline of both runs, the spike shaded) in the output folder. Exit code 1 when the run did not show it (A recovered or B did not).';
  static override examples = ['<%= config.bin %> breaker scenario metastable', '<%= config.bin %> breaker scenario metastable --out metastable --json'];
  static override args = {
    scenario: Args.string({ description: 'the scenario to run', options: ['metastable'], required: true }),
  };
  static override flags = {
    out: Flags.string({ description: 'folder for result.json, the traces and report.html (default: .dslab/store/breaker-metastable/TIME)', helpValue: 'DIR' }),
  };

  async run(): Promise<ScenarioResult> {
    const { flags } = await this.parse(BreakerScenario);
    const json = this.jsonEnabled();
    const dir = flags.out ? path.resolve(flags.out) : path.join(dslabHome(), scenario_store, runStamp(Date.now()));
    const result = await runMetastableScenario({
      system: requireSystem('breaker'),
      workloads,
      cwd: process.cwd(),
      dir,
      progress: json ? undefined : (line) => this.log(line),
      writeReport: writeScenarioReport,
    });
    if (!json) {
      this.log('');
      for (const line of result.summary) this.log(line);
      if (result.report_file) this.log(`report: ${path.relative(process.cwd(), result.report_file) || result.report_file}`);
    }
    if (!result.shown) process.exitCode = 1;
    return result;
  }
}
