import { Args, Flags } from '@oclif/core';
import { DslabCommand } from '../cli/base.js';
import { followLog, logFileFor, readLogTail } from '../lib/cluster/logs.js';
import { dslabHome, findAnyCluster } from '../lib/cluster/paths.js';

export default class Logs extends DslabCommand {
  static override summary = "Print a node's log (its stderr, plus dslab's notes about it).";
  static override description = 'Works on stopped clusters too. "supervisor" shows the supervisor\'s own log.';
  static override examples = ['<%= config.bin %> logs n3', '<%= config.bin %> logs n3 -f', '<%= config.bin %> logs supervisor --lines 100'];
  static override args = {
    node: Args.string({ required: true, description: 'node id, or supervisor' }),
  };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until Ctrl-C' }),
    lines: Flags.integer({ char: 'n', default: 50, min: 1, description: 'how many of the last lines to print' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Logs);
    const info = findAnyCluster(dslabHome(), flags.cluster);
    const file = logFileFor(info, args.node);
    const { text, offset } = readLogTail(file, flags.lines);
    if (this.jsonEnabled()) return { node: args.node, file, lines: text.split('\n').filter(Boolean) };
    process.stdout.write(text);
    if (!flags.follow) return undefined;
    const stop = followLog(file, offset, (more) => process.stdout.write(more));
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    stop();
    return undefined;
  }
}
