import { Args, Flags } from '@oclif/core';
import { ZkCommand, zk_session_flags } from '../../cli/zk.js';
import { formatWatchEvent } from '../../workloads/zk/format.js';
import { watchLoop } from '../../workloads/zk/watch-loop.js';

export default class ZkWatch extends ZkCommand {
  static override summary = 'Print each change to a znode (or to its children) until Ctrl-C.';
  static override description =
    'Sets a watch (ZooKeeper\'s, one-shot: on data changes, creation and deletion; with --children on the children), prints each event as it fires, and sets the watch again. With --json, one JSON object a line per event. Without --session the watch has a session of its own, closed when the command ends.';
  static override examples = ['<%= config.bin %> zk watch /app', '<%= config.bin %> zk watch /app --children'];
  static override flags = { ...zk_session_flags, children: Flags.boolean({ description: 'watch the children of the znode instead (NodeChildrenChanged)' }) };
  static override args = { path: Args.string({ required: true, description: 'znode path' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ZkWatch);
    const json = this.jsonEnabled();
    const stop = new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
    });
    await watchLoop((op, a) => this.zk(flags.cluster, op, a), {
      path: args.path,
      children: flags.children,
      ...(flags.session ? { session: flags.session } : {}),
      onArmed: (result) => {
        if (!json) this.log(result.description);
      },
      // With --json oclif's log is silent (it prints the returned value); events are a stream, one a line.
      onEvent: (event) => (json ? void process.stdout.write(JSON.stringify(event) + '\n') : this.log(formatWatchEvent(event))),
      onDropped: (count) => this.logToStderr(`dslab: ${count} watch events were dropped before they were read`),
      stop,
    });
    return undefined;
  }
}
