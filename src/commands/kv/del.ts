import { Args } from '@oclif/core';
import { UserError } from '../../lib/util/errors.js';
import { deleteRefusal, KvCommand, parseKey } from '../../workloads/lin-kv/cli.js';

export default class KvDel extends KvCommand {
  static override summary = 'Delete a key (a dslab extension to lin-kv).';
  static override description = "Maelstrom's lin-kv workload has no delete; dslab's raft and the raft labs' nodes add it. It is sent only when the cluster's nodes send dslab_state reports (a Maelstrom node may stop on a message it has no handler for); a node that answers error 10 or 12 does not support it, and says so.";
  static override examples = ['<%= config.bin %> kv del x'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...KvCommand.flags };
  static override args = { key: Args.string({ required: true, description: 'key' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvDel);
    const key = parseKey(args.key);
    const refusal = deleteRefusal(await this.client(flags.cluster).status(), key);
    if (refusal) throw new UserError(refusal);
    return this.runOperation(flags, { f: 'delete', key });
  }
}
