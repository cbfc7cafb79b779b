import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';

export default class ZkLs extends ZkCommand {
  static override summary = "List a znode's children, one a line, sorted.";
  static override examples = ['<%= config.bin %> zk ls /', '<%= config.bin %> zk ls /app'];
  static override flags = { ...zk_session_flags };
  static override args = { path: Args.string({ required: true, description: 'znode path' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkLs);
    const result = await this.zk(flags.cluster, 'ls', { path: args.path, ...(flags.session ? { session: flags.session } : {}) });
    for (const child of (result['children'] as string[] | undefined) ?? []) this.log(child);
    return result;
  }
}
