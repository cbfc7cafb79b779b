import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag, integerFlag } from '../../cli/flags.js';
import { UserError } from '../../lib/util/errors.js';
import { checkLocks } from '../../systems/locks/checker.js';
import { fetchReport, formatLockCheck, saveReport, startRounds, waitForRounds } from '../../workloads/locks/client.js';

/** Rounds per contender one run may ask for (the contender's own limit). */
const rounds_max = 1_000_000;

export default class LockRun extends DslabCommand {
  static override workloads = ['locks'];
  static override summary = 'Run critical sections on every contender: acquire, read the counter, add one, write it back, release.';
  static override description =
    'Each contender that is up runs --rounds sections. The command waits until all are done (a paused contender holds it up until resumed), then checks what the resource observed and prints the verdict; with --no-wait it returns once the contenders started. Exit code 1 when the check finds a violation.';
  static override examples = ['<%= config.bin %> lock run --rounds 20', '<%= config.bin %> lock run --rounds 500 --no-wait', '<%= config.bin %> lock run --rounds 50 --history run.json'];
  static override flags = {
    rounds: integerFlag({ default: 10, description: 'critical sections per contender', range: { min: 1, max: rounds_max } }),
    'no-wait': Flags.boolean({ description: 'return once the contenders started, without waiting or checking' }),
    timeout: durationFlag({ default: '5m', description: 'how long to wait for the rounds', range: { min: 1, max: 86_400_000 } }),
    history: Flags.string({ description: 'save what the resource observed to this file (for dslab lock check --history)', helpValue: 'FILE' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LockRun);
    const client = this.client(flags.cluster);
    const started = await startRounds(client, flags.rounds);
    this.log(`started ${flags.rounds} round${flags.rounds === 1 ? '' : 's'} on ${started.join(', ')}`);
    if (flags['no-wait']) return { started };
    if (!(await waitForRounds(client, flags.timeout))) throw new UserError(`the contenders were still running after ${flags.timeout / 1000}s (see dslab lock status)`);
    const report = await fetchReport(client, await client.status());
    if (flags.history) saveReport(flags.history, report);
    const check = checkLocks(report);
    this.log(formatLockCheck(check));
    if (!check.ok) process.exitCode = 1;
    return { started, check };
  }
}
