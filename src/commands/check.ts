import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { durationFlag } from '../cli/flags.js';
import { historyWorkload } from '../lib/history-header.js';
import { UserError } from '../lib/util/errors.js';
import { workloads } from '../registry.js';

/** The search's time budget: at least a millisecond, at most a day. */
const check_timeout_ms_min = 1;
const check_timeout_ms_max = 86_400_000;

export default class Check extends BaseCommand {
  static override summary = 'Check a history written by `dslab load` or `dslab zk load`.';
  static override description =
    'Reads a history (JSONL, one operation per line) and runs the checker of the workload that wrote it, named on its first line (a history that names none is a key-value one). Key-value histories: searches for an order of the operations that respects real time and register semantics, key by key. zk histories: writes linearizable znode by znode, and each session\'s reads sequentially consistent. Prints valid, invalid (with a small set of operations that cannot be ordered) or unknown (the time budget ran out). Exit code: 0 valid, 1 invalid or bad input, 2 unknown.';
  static override examples = ['<%= config.bin %> check run.jsonl', '<%= config.bin %> check run.jsonl --timeout 5m --json'];
  static override args = { file: Args.string({ required: true, description: 'history file (JSONL)' }) };
  static override flags = {
    timeout: durationFlag({ default: '60s', description: 'give up (result unknown) after this long', range: { min: check_timeout_ms_min, max: check_timeout_ms_max } }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Check);
    const name = historyWorkload(args.file);
    const workload = workloads.find((w) => w.name === name);
    if (!workload) throw new UserError(`${args.file}: the history names workload ${name}, which dslab does not have (it has: ${workloads.map((w) => w.name).join(', ')})`);
    if (!workload.checkFile) throw new UserError(`${args.file}: workload ${name} has no history checker`);
    const checked = workload.checkFile(args.file, flags.timeout);
    this.log(checked.text);
    process.exitCode = checked.result === 'valid' ? 0 : checked.result === 'invalid' ? 1 : 2;
    return checked.details;
  }
}
