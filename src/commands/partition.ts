import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { splitPartitionArgs } from '../lib/faults/partition-spec.js';
import { UserError } from '../lib/util/errors.js';

export default class Partition extends DslabCommand {
  static override summary = 'Split the network between nodes into groups that cannot reach each other.';
  static override description =
    'With no groups, the nodes are split into two random halves. Nodes named in no group form one more group together. Client links are not cut unless a client is named: `--isolate c3`, or a client in a group (`n1,c3`), cuts that client off from the nodes on other sides. --isolate also cuts the node off from the services (lin-kv, seq-kv, lww-kv, lin-tso); other partitions leave the services reachable from every group. `dslab heal` removes the partition.';
  static override examples = [
    '<%= config.bin %> partition',
    '<%= config.bin %> partition n1 n2,n3',
    '<%= config.bin %> partition n1,n2',
    '<%= config.bin %> partition --isolate n1',
    '<%= config.bin %> partition --isolate leader',
    '<%= config.bin %> partition --isolate c3',
  ];
  static override usage = ['<%= command.id %> [GROUP...] [--isolate NODE] [--cluster NAME] [--json]'];
  // Any number of groups: oclif lists the first argument; the rest arrive in argv.
  static override strict = false;
  static override args = {
    group: Args.string({ description: 'nodes that can still reach each other, comma-separated (like n1,n2; a node group name stands for all its members; a client such as c3 may be placed too); nodes named in no group form one more group; no groups: two random halves' }),
  };
  static override flags = {
    isolate: Flags.string({ description: 'cut one node (an id, leader or random), every member of a node group, or a client (c3), off from all others', helpValue: 'NODE' }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Partition);
    const groups = argv as string[];
    if (flags.isolate && groups.length > 0) {
      throw new UserError('--isolate cannot be combined with partition groups');
    }
    if (flags.isolate) return this.act(flags.cluster, { type: 'partition', isolate: flags.isolate });
    if (groups.length === 0) return this.act(flags.cluster, { type: 'partition', random: true });
    return this.act(flags.cluster, { type: 'partition', groups: splitPartitionArgs(groups) });
  }
}
