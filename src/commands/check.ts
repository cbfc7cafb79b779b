import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { checkHistoryFile, formatCheckResult } from '../lib/checker/check-file.js';
import { parseDurationMs } from '../lib/util/units.js';

export default class Check extends DslabCommand {
  static override summary = 'Check that a key-value history is linearizable.';
  static override description =
    'Reads a history written by `dslab load --history` (JSONL, one operation per line) and searches for an order of the operations that respects real time and register semantics, key by key. Prints valid, invalid (with a small set of operations that cannot be ordered) or unknown (the time budget ran out). Exit code: 0 valid, 1 invalid or bad input, 2 unknown.';
  static override examples = ['<%= config.bin %> check run.jsonl', '<%= config.bin %> check run.jsonl --timeout 60s --json'];
  static override args = { file: Args.string({ required: true, description: 'history file (JSONL)' }) };
  static override flags = {
    timeout: Flags.string({ default: '60s', description: 'give up (result unknown) after this long', helpValue: 'DURATION' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Check);
    const result = checkHistoryFile(args.file, parseDurationMs(flags.timeout, '--timeout'));
    this.log(formatCheckResult(result));
    process.exitCode = result.result === 'valid' ? 0 : result.result === 'invalid' ? 1 : 2;
    return result;
  }
}
