import { Flags } from '@oclif/core';
import { DslabCommand } from '../../cli/base.js';
import { durationFlag, integerFlag } from '../../cli/flags.js';
import { client_timeout_ms_max, client_timeout_ms_min } from '../../lib/control/api.js';
import { generate_count_max } from '../../systems/snowflake/options.js';
import { generate_timeout_ms_default, generateIds } from '../../workloads/ids/client.js';

export default class IdGenerate extends DslabCommand {
  static override workloads = ['ids', 'unique-ids'];
  static override summary = 'Ask a worker for ids and print them, one a line.';
  static override description = 'Sends Maelstrom\'s `generate` to a serving worker (or the one --worker names); with --count, one batch of that many ids (dslab\'s extension), or, from a node that does not know batches (a Maelstrom unique-ids node), one generate per id. Ids that are not numbers or strings (Maelstrom allows any JSON) are printed as JSON. A worker that refuses (no number yet, its clock stepped back past --max-backward, no word from the coordinator) is reported with its reason.';
  static override examples = ['<%= config.bin %> id generate', '<%= config.bin %> id generate --count 5 --worker w2'];
  static override flags = {
    count: integerFlag({ description: 'how many ids: one batch, or one generate each from a node without batches', range: { min: 1, max: generate_count_max } }),
    worker: Flags.string({ description: 'the worker to ask (default: a serving one)', helpValue: 'NODE' }),
    timeout: durationFlag({ default: `${generate_timeout_ms_default}ms`, description: 'how long to wait for the answer', range: { min: client_timeout_ms_min, max: client_timeout_ms_max } }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(IdGenerate);
    const result = await generateIds(this.client(flags.cluster), { worker: flags.worker, count: flags.count, timeout_ms: flags.timeout });
    for (const id of result.ids) this.log(id);
    return result;
  }
}
