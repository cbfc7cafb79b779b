import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { durationFlag } from '../cli/flags.js';
import { checkHistoryFile, formatCheckResult } from '../workloads/lin-kv/check-file.js';

/** The search's time budget: at least a millisecond, at most a day. */
const check_timeout_ms_min = 1;
const check_timeout_ms_max = 86_400_000;

export default class Check extends BaseCommand {
  static override summary = 'Check that a key-value history is linearizable.';
  static override description =
    'Reads a history written by `dslab load --history` (JSONL, one operation per line) and searches for an order of the operations that respects real time and register semantics, key by key. Prints valid, invalid (with a small set of operations that cannot be ordered) or unknown (the time budget ran out). Exit code: 0 valid, 1 invalid or bad input, 2 unknown.';
  static override examples = ['<%= config.bin %> check run.jsonl', '<%= config.bin %> check run.jsonl --timeout 5m --json'];
  static override args = { file: Args.string({ required: true, description: 'history file (JSONL)' }) };
  static override flags = {
    timeout: durationFlag({ default: '60s', description: 'give up (result unknown) after this long', range: { min: check_timeout_ms_min, max: check_timeout_ms_max } }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Check);
    const result = checkHistoryFile(args.file, flags.timeout);
    this.log(formatCheckResult(result));
    process.exitCode = result.result === 'valid' ? 0 : result.result === 'invalid' ? 1 : 2;
    return result;
  }
}
