import { Args } from '@oclif/core';
import { ZkCommand, zk_session_flags, zk_version_flag } from '../../cli/zk.js';

export default class ZkSet extends ZkCommand {
  static override summary = "Set a znode's data, optionally only at a given version.";
  static override description = 'Prints the new version. With --version V the write happens only if the znode is at version V (BadVersion otherwise).';
  static override examples = ['<%= config.bin %> zk set /app config-v2', '<%= config.bin %> zk set /app config-v3 --version 1'];
  static override flags = { ...zk_session_flags, version: zk_version_flag() };
  static override args = {
    path: Args.string({ required: true, description: 'znode path' }),
    data: Args.string({ required: true, description: 'the new data (UTF-8 text)' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkSet);
    const result = await this.zk(flags.cluster, 'set', { path: args.path, data: args.data, ...(flags.version !== undefined ? { version: flags.version } : {}), ...(flags.session ? { session: flags.session } : {}) });
    this.log(result.description);
    return result;
  }
}
