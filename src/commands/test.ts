import { Flags, type Interfaces } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { formatTestRun } from '../cli/format/test-run.js';
import { ClusterStartError } from '../lib/supervisor/supervisor.js';
import { errorMessage, UserError } from '../lib/util/errors.js';
import { exit_code_bad_arguments, exit_code_internal_error, exitCodeForVerdict } from '../maelstrom/exit-codes.js';
import { maelstromFlagsHelp, maelstrom_workloads, parseTestArgs, TestArgumentsError } from '../maelstrom/options.js';
import { describeTestPlan } from '../maelstrom/plan-text.js';
import { driverFor } from '../maelstrom/run/drivers.js';
import { writeRunReport } from '../maelstrom/report/report.js';
import { runTests, testClusterName } from '../maelstrom/run/test-run.js';
import { viewFor, workloads } from '../registry.js';

/** dslab's own switches beside Maelstrom's flags. */
const dslab_switches = ['json', 'watch', 'dry-run'] as const;

/**
 * Maelstrom's flags as oclif knows them, for --help and the command reference only: the arguments
 * are read by parseTestArgs, Maelstrom's way (a flag's value may be any token; the binary's
 * arguments stand anywhere), which oclif's parser does not do.
 */
function helpFlags(): Interfaces.FlagInput {
  const flags: Interfaces.FlagInput = {};
  for (const flag of maelstromFlagsHelp()) {
    const char = flag.short as 'w' | undefined;
    flags[flag.long] = flag.value ? Flags.string({ description: flag.help, helpValue: flag.value, ...(char ? { char } : {}) }) : Flags.boolean({ description: flag.help, ...(char ? { char } : {}) });
  }
  flags.watch = Flags.boolean({ description: 'dslab: show the live dashboard while the test runs' });
  flags['dry-run'] = Flags.boolean({ description: 'dslab: print the plan with every default filled in, run nothing' });
  return flags;
}

export default class Test extends BaseCommand {
  static override summary = "Run one of Maelstrom's workloads against your node, with Maelstrom's command line: a verdict in words, the run kept with an HTML report.";
  static override description =
    "Takes `maelstrom test`'s flags with their meanings and defaults, so a command copied from a challenge page runs with `maelstrom` replaced by `dslab`: -w/--workload, --bin (then the binary's arguments), --node-count, --time-limit (s), --rate (requests/s), --concurrency (N or Nn), --latency (ms) and --latency-dist, --nemesis partition (and dslab's kill, pause), --nemesis-interval (s), --topology, --availability, --consistency-models, --key-count, --max-txn-length, --max-writes-per-key, --log-stderr, --test-count. " +
    'Runs the workload against a real cluster of your binary named test-WORKLOAD (watch it, or break it, from another terminal: dslab watch, dslab partition), heals and reads once more per client where Maelstrom does, then prints the verdict and its figures. ' +
    'Each run is kept in .dslab/store/WORKLOAD/TIME/ (.dslab/store/latest is the newest): results.json, history.jsonl, trace.jsonl, nodes/*.log, report.html. ' +
    "dslab's own switches: --watch (the live dashboard while it runs), --json (the results on stdout), --dry-run (print the plan, run nothing). " +
    'Exit code as Maelstrom: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 the run itself broke.';
  static override examples = [
    '<%= config.bin %> test -w echo --bin ./echo.py --node-count 1 --time-limit 10',
    '<%= config.bin %> test -w broadcast --bin ./node.py --node-count 5 --time-limit 20 --rate 10 --nemesis partition',
    '<%= config.bin %> test -w g-counter --bin ./counter.py --node-count 3 --rate 100 --time-limit 20 --nemesis partition --dry-run',
  ];
  static override usage = ['<%= command.id %> -w WORKLOAD --bin BINARY [BINARY ARGS…] [MAELSTROM FLAGS…] [--watch] [--json] [--dry-run]'];
  static override strict = false;
  static override flags = helpFlags();

  async run(): Promise<unknown> {
    this.parsed = true; // the arguments are Maelstrom's, read by parseTestArgs rather than oclif
    const parsed = parseTestArgs(this.argv, { extra_switches: dslab_switches });
    if (parsed.kind === 'help') {
      // oclif shows the help for --help and -h; Maelstrom's own spelling inside the arguments lands here.
      this.log(`${Test.summary}\n\n${Test.description}`);
      return undefined;
    }
    const { plan, switches } = parsed;
    const warnings = [...parsed.warnings];
    if (plan.log_net_send || plan.log_net_recv) warnings.push("--log-net-send and --log-net-recv print nothing here: every message sent and received is in the run's trace.jsonl, with what the network did to it");
    const json = this.jsonEnabled();
    if (!driverFor(plan.workload)) {
      throw new TestArgumentsError(`dslab test does not run ${plan.workload} yet (it runs ${maelstrom_workloads.filter((w) => driverFor(w)).join(', ')})`);
    }
    for (const warning of warnings) this.logToStderr(`dslab: note: ${warning}`);
    if (switches.includes('dry-run')) {
      const lines = describeTestPlan(plan);
      this.log(lines.join('\n'));
      return { plan, warnings };
    }
    if (!json) this.log(describeTestPlan(plan).join('\n') + '\n');
    const abort = new AbortController();
    const onSigint = () => {
      this.logToStderr('dslab: stopping the run (Ctrl-C): no final reads; the history so far is checked');
      abort.abort();
    };
    process.once('SIGINT', onSigint);
    const watching = switches.includes('watch') && !json;
    let dashboard: Promise<void> | null = null;
    try {
      const results = await runTests({
        plan,
        warnings,
        workloads,
        view: viewFor(plan.workload),
        cwd: process.cwd(),
        signal: abort.signal,
        writeReport: writeRunReport,
        // --log-stderr: the nodes' stderr in this output as it comes, as Maelstrom logs it (the node logs keep it either way).
        stderr: (node, line) => {
          if (!json && !dashboard) this.log(`${node} stderr: ${line}`);
        },
        progress: (line) => {
          if (!json && !dashboard) this.log(`• ${line}`);
          if (watching && !dashboard && line.startsWith('running')) dashboard = this.watch(testClusterName(plan));
        },
      });
      await dashboard;
      for (const result of results) if (!json) this.log('\n' + formatTestRun(result, process.cwd(), plan.test_count));
      const last = results.at(-1)!;
      process.exitCode = exitCodeForVerdict(last.verdict);
      return results.length === 1 ? last : results;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }

  /**
   * The live dashboard of the test's cluster, closed when the run takes the cluster down. It runs as
   * `dslab watch` in a process of its own: drawing it here would hold up the clients and the router
   * on this event loop and show in the latencies measured.
   */
  private async watch(cluster: string): Promise<void> {
    if (!process.stdout.isTTY || !process.stdin.isTTY) return;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [process.argv[1]!, 'watch', '--cluster', cluster], { stdio: 'inherit' });
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
  }

  protected override async catch(error: Error & { oclif?: { exit?: number } }): Promise<void> {
    await super.catch(error);
    // Maelstrom's codes: bad arguments 254; a run that broke (the nodes did not start, something failed unexpectedly) 255.
    if (error instanceof TestArgumentsError) process.exitCode = exit_code_bad_arguments;
    else if (error instanceof ClusterStartError || !(error instanceof UserError)) process.exitCode = exit_code_internal_error;
    if (!(error instanceof UserError) && process.env.DSLAB_DEBUG) this.logToStderr(errorMessage(error));
  }
}
