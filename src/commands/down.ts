import { Flags } from '@oclif/core';
import { rmSync } from 'node:fs';
import { DslabCommand } from '../cli/base.js';
import { stopCluster } from '../lib/cluster/stop.js';
import { dslabHome, findAnyCluster, isRunning } from '../lib/cluster/paths.js';
import { UserError } from '../lib/util/errors.js';

export default class Down extends DslabCommand {
  static override summary = 'Stop a cluster: every node, then its supervisor.';
  static override description =
    "Data directories, logs and the trace stay in .dslab/<name>/ unless --clean is given. Before the nodes stop, the system's workloads judge the run where they can (a locks cluster: the lock check, as `dslab lock check` prints it); the verdict is printed, and is in --json's checks.";
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down --cluster raft --clean'];
  static override flags = {
    clean: Flags.boolean({ description: "also delete the cluster's directory (data, logs, trace)" }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Down);
    const info = findAnyCluster(dslabHome(), flags.cluster);
    const wasRunning = isRunning(info);
    if (!wasRunning && !flags.clean) throw new UserError(`cluster "${info.name}" is not running (use --clean to delete its directory)`);
    const checks = wasRunning ? await stopCluster(info) : [];
    if (flags.clean) rmSync(info.dir, { recursive: true, force: true });
    for (const check of checks) this.log(check.text);
    const what = `${wasRunning ? 'stopped' : 'found stopped'} cluster ${info.name}${flags.clean ? ` and deleted ${info.dir}` : ''}`;
    this.log(what);
    return { name: info.name, stopped: wasRunning, cleaned: flags.clean, checks };
  }
}
