import { Help } from '@oclif/core';

/** The first hour with dslab, as `dslab --help` shows it after the list of commands. */
export const root_examples: readonly { description: string; commands: readonly string[] }[] = [
  { description: 'Start a five-node Raft cluster in the background and look at it', commands: ['dslab up raft --nodes 5 --detach', 'dslab status', 'dslab watch'] },
  { description: 'Use it, then break it from another terminal and watch a new leader take over', commands: ['dslab kv put x 5', 'dslab kill leader', 'dslab kv get x'] },
  { description: 'Cut the network in two, then repair it', commands: ['dslab partition n1,n2 n3,n4,n5', 'dslab heal'] },
  { description: 'Run a workload under random faults and check the history is linearizable', commands: ['dslab nemesis --duration 30s --detach', 'dslab load --duration 20s --history run.jsonl', 'dslab check run.jsonl'] },
  { description: 'Implement Raft yourself and get a score', commands: ['dslab lab init raft-election --lang python ./my-raft', 'dslab grade raft-election --bin "python3 my-raft/node.py"'] },
  { description: 'Stop the cluster', commands: ['dslab down'] },
];

export default class DslabHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp();
    const body = root_examples.map((example) => [`${example.description}:`, ...example.commands.map((command) => `  $ ${command}`)].join('\n')).join('\n\n');
    this.log(this.section('EXAMPLES', body));
    this.log('');
  }
}
