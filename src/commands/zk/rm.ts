import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags, zk_version_flag } from '../../cli/zk.js';

export default class ZkRm extends ZkCommand {
  static override summary = 'Delete a znode (it must have no children), optionally only at a given version.';
  static override examples = ['<%= config.bin %> zk rm /app/job-0000000000', '<%= config.bin %> zk rm /app --version 2'];
  static override flags = { ...zk_session_flags, version: zk_version_flag() };
  static override args = { path: Args.string({ required: true, description: 'znode path' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkRm);
    const result = await this.zk(flags.cluster, 'rm', { path: args.path, ...(flags.version !== undefined ? { version: flags.version } : {}), ...(flags.session ? { session: flags.session } : {}) });
    this.log(result.description);
    return result;
  }
}
