import { Args, Flags } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';

export default class ZkCreate extends ZkCommand {
  static override summary = 'Create a znode (persistent, ephemeral or sequential) with optional data.';
  static override description =
    'Prints the path created (with its ten-digit suffix for --sequential). An ephemeral znode lives as long as its session: give --session NAME to keep it after the command, until `dslab zk session close NAME` or the session expires.';
  static override examples = ['<%= config.bin %> zk create /app config-v1', '<%= config.bin %> zk create /app/job- --sequential', '<%= config.bin %> zk create /app/lock --ephemeral --session me'];
  static override flags = {
    ...zk_session_flags,
    ephemeral: Flags.boolean({ description: 'deleted when the session that created it ends' }),
    sequential: Flags.boolean({ description: 'append a ten-digit number from the parent\'s counter to the name' }),
  };
  static override args = {
    path: Args.string({ required: true, description: 'znode path, like /app/config' }),
    data: Args.string({ required: false, description: 'data (UTF-8 text; default empty)' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkCreate);
    const result = await this.zk(flags.cluster, 'create', { path: args.path, data: args.data ?? '', ephemeral: flags.ephemeral, sequential: flags.sequential, ...(flags.session ? { session: flags.session } : {}) });
    this.log(result.description);
    return result;
  }
}
