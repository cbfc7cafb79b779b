import { Flags } from '@oclif/core';
import type { ActionResult } from '../lib/control/api.js';
import { zk_workload } from '../workloads/zk/plugin.js';
import { DslabCommand } from './base.js';
import { integerFlag } from './flags.js';

/** ZooKeeper's versions are signed 32-bit; -1 means any. */
const version_max = 2_147_483_647;

export const zk_version_flag = () => integerFlag({ description: 'only if the znode is at this version (ZooKeeper\'s dataVersion; -1: any)', range: { min: -1, max: version_max } });

/** The zk operations' --session. */
export const zk_session_flags = {
  session: Flags.string({
    description: 'run on the named session the supervisor keeps open (opened on first use): its ephemerals and watches outlive this command, until `dslab zk session close NAME`; without it the command opens a session of its own and closes it',
    helpValue: 'NAME',
  }),
};

/** Shared by the zk subcommands: one operation of the zk workload, run by the supervisor on a session. */
export abstract class ZkCommand extends DslabCommand {
  static override workloads = ['zk'];

  /** Runs one zk operation in the supervisor; a refusal is one `dslab:` line with ZooKeeper's error name. */
  protected zk(cluster: string | undefined, op: string, args: Record<string, unknown>): Promise<ActionResult> {
    return this.client(cluster).act({ type: 'workload', workload: zk_workload.name, op, args });
  }
}
