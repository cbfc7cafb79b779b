import { Args } from '@oclif/core';
import { readFileSync } from 'node:fs';
import { BaseCommand } from '../../cli/base.js';
import { UserError, errorMessage } from '../../lib/util/errors.js';
import { checkIdHistory } from '../../workloads/ids/checker.js';
import { parseHistory } from '../../workloads/ids/history.js';
import { formatCheck } from '../../workloads/ids/format.js';

export default class IdCheck extends BaseCommand {
  static override summary = 'Check an id history from `dslab id load`.';
  static override description =
    'Every id unique across all workers; each worker\'s ids increasing; the number each id decodes to held by its worker at the time, and not given to another worker meanwhile; each id\'s time inside its request\'s real-time window, widened by any skew applied to the worker; ids sorted by value k-sorted within the spread of the clock offsets plus one time unit. Each violation is named in words. Exit code 1 when there is one.';
  static override examples = ['<%= config.bin %> id check ids.jsonl'];
  static override args = { file: Args.string({ required: true, description: 'the history file' }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(IdCheck);
    let text: string;
    try {
      text = readFileSync(args.file, 'utf8');
    } catch (error) {
      throw new UserError(`cannot read ${args.file}: ${errorMessage(error)}`);
    }
    let records;
    try {
      records = parseHistory(text);
    } catch (error) {
      throw new UserError(`${args.file}: ${errorMessage(error)}`);
    }
    const result = checkIdHistory(records);
    for (const line of formatCheck(result)) this.log(line);
    if (!result.valid) process.exitCode = 1;
    return result;
  }
}
