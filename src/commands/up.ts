import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { foreignFlagMessage } from '../cli/cluster-kind.js';
import { durationFlag, integerFlag } from '../cli/flags.js';
import { UserError } from '../lib/util/errors.js';
import { init_timeout_ms_default, init_timeout_ms_max, init_timeout_ms_min, nodes_default, planCluster, startDetached, startForeground } from '../lib/cluster/launch.js';
import { seed_max, type ClusterEvent } from '../lib/control/api.js';
import { followEventLines, formatEventLine } from '../lib/dashboard/event-lines.js';
import { formatDurationMs } from '../lib/util/units.js';
import { findSystem, groupCounts, optionsFromFlags, supervisor_entry, systemFlags, systems, viewFor, workloads, zkWire } from '../registry.js';
import { zk_default_client_port, zk_port_env } from '../lib/supervisor/zk-ports.js';

const own_flags = {
  nodes: Flags.integer({ char: 'n', default: nodes_default, description: 'number of nodes (n1..nN)' }),
  bin: Flags.string({ description: 'command that runs one node (any language), split into words as a shell would (quotes and backslashes; no variables or globs)', helpValue: 'CMD' }),
  name: Flags.string({ description: 'cluster name (default: the system name)', helpValue: 'NAME' }),
  seed: integerFlag({ description: 'seed for random fault choices; random, and printed, when not given', range: { min: 0, max: seed_max } }),
  detach: Flags.boolean({ char: 'd', description: 'start in the background and return once every node answered init' }),
};

/** Shown after the systems' flags in --help, as they always were. */
const own_flags_after = {
  'keep-data': Flags.boolean({ description: "start from the data directories the cluster's previous run left (default: empty)" }),
  'init-timeout': durationFlag({
    default: formatDurationMs(init_timeout_ms_default),
    description: 'how long each node has to answer init',
    range: { min: init_timeout_ms_min, max: init_timeout_ms_max },
  }),
  'no-ui': Flags.boolean({ description: 'in the foreground, print plain event lines instead of the live dashboard' }),
  'zk-port': integerFlag({
    description: `ZooKeeper client port of the first Zab server (zab; the coordinator of snowflake and of locks --backend zk), the next servers taking the ports after it; 0: any free ports. Default: $${zk_port_env}, else ${zk_default_client_port} and on where free, any free port where not`,
    range: { min: 0, max: 65_535 },
  }),
};

/** The systems' own flags (raft's timeouts, …), from their plugins. */
const system_flags = systemFlags();
const clash = Object.keys(system_flags).find((flag) => flag in own_flags || flag in own_flags_after);
if (clash) throw new Error(`a system declares --${clash}, which is one of up's own flags`);

export default class Up extends BaseCommand {
  static override summary = 'Start a cluster: one supervisor and N node processes.';
  static override description = `Built-in systems — ${systems.map((s) => `${s.name}: ${s.description}`).join('; ')}. With --bin, any program that speaks the Maelstrom node protocol on stdin/stdout runs as the node. Without --detach the cluster runs in the foreground with a live dashboard (plain event lines with --no-ui, --json or when stdout is not a terminal), and Ctrl-C stops it.`;
  static override examples = [
    '<%= config.bin %> up raft --nodes 5 --detach',
    '<%= config.bin %> up echo --nodes 3',
    '<%= config.bin %> up raft --nodes 5 --election-timeout 150-300ms --heartbeat 50ms --read lease',
    '<%= config.bin %> up raft --bin "python3 my-raft/node.py" --nodes 5 --name mine',
  ];
  static override args = {
    system: Args.string({ required: true, description: 'system to run (a built-in name, or a label when --bin is given)' }),
  };
  static override flags = { ...own_flags, ...system_flags, ...own_flags_after };

  async run(): Promise<unknown> {
    const { args, flags, raw } = await this.parse(Up);
    // Only the flags typed count: a system's flag defaults (snowflake's --workers) are in `flags` whatever the system.
    for (const token of raw) {
      const foreign = token.type === 'flag' ? foreignFlagMessage(args.system, token.flag, systems) : null;
      if (foreign) throw new UserError(foreign);
    }
    const plugin = findSystem(args.system);
    const options = optionsFromFlags(flags);
    const config = await planCluster({
      system: args.system,
      plugin,
      known_systems: systems.map((s) => s.name),
      view: viewFor(args.system, options),
      nodes: flags.nodes,
      group_counts: plugin ? groupCounts(plugin, flags) : {},
      bin: flags.bin,
      name: flags.name,
      seed: flags.seed,
      init_timeout_ms: flags['init-timeout'],
      options,
      keep_data: flags['keep-data'],
      zk_port: flags['zk-port'],
    });
    if (flags.detach) {
      const info = await startDetached(config, supervisor_entry);
      const groups = info.groups && info.groups.length > 1 ? info.groups.map((g) => `${g.name} ${g.nodes.join(', ')}`).join('; ') : info.nodes.join(', ');
      this.log(`cluster ${info.name} up: ${info.system} on ${info.nodes.length} nodes (${groups}), seed ${info.seed}`);
      if (info.zk) this.log(`ZooKeeper clients connect to ${info.zk.connect_string} (${info.zk.ports.map((p) => `${p.server} port ${p.port}`).join(', ')})`);
      this.log(`directory ${info.dir}; stop it with: ${this.program()} down${info.name === info.system ? '' : ` --cluster ${info.name}`}`);
      return info;
    }
    const supervisor = await startForeground(config, { workloads, zk_wire: await zkWire() });
    const json = this.jsonEnabled();
    if (!flags['no-ui'] && !json && process.stdout.isTTY && process.stdin.isTTY) {
      // The live dashboard (issue 4); loaded only here so `up --detach` stays quick to start.
      const { runDashboard, inProcessSource } = await import('../lib/dashboard/index.js');
      const stop = () => supervisor.shutdown();
      // The dashboard's q stops the cluster as `dslab down` does: the workloads' verdicts first, while the nodes still run.
      let verdicts: string[] = [];
      const stopWithVerdicts = async () => {
        verdicts = (await supervisor.closingChecks()).map((check) => check.text);
        await stop();
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop());
      try {
        await runDashboard({ source: inProcessSource(supervisor), mode: 'up', stopCluster: stopWithVerdicts });
      } finally {
        await stop();
      }
      // Printed below the dashboard's last line, as `dslab down` prints them.
      for (const verdict of verdicts) this.log(verdict);
      await supervisor.done;
      return undefined;
    }
    if (json) {
      const print = (event: ClusterEvent) => void process.stdout.write(JSON.stringify(event) + '\n');
      for (const event of supervisor.events.history()) print(event);
      supervisor.events.subscribe(print);
    } else {
      // The dashboard's plain event lines, as `dslab events` prints them.
      followEventLines(supervisor.events, (line) => void process.stdout.write(formatEventLine(line) + '\n'), { history: true });
    }
    if (!json) this.log(`(Ctrl-C stops the cluster; from another terminal: dslab status, dslab partition, dslab kill n1, …)`);
    const stop = () => void supervisor.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
    await supervisor.done;
    return undefined;
  }
}
