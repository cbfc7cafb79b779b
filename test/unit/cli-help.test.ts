import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command, Interfaces } from '@oclif/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { unknownCommandMessage } from '../../src/cli/command-names.js';
import { root_examples } from '../../src/cli/help.js';
import { listLabIds } from '../../src/lib/grade/spec.js';
import { service_names } from '../../src/lib/services/hub.js';
import { systems } from '../../src/registry.js';
import { splitShellWords } from '../../src/lib/util/shell-words.js';
import { parseDurationRangeMs, parseDurationMs, parsePercent, parseSignedDurationMs } from '../../src/lib/util/units.js';
import { default_raft_config } from '../../src/systems/raft/core/core.js';
import { snapshot_every_default } from '../../src/systems/raft/options.js';
import { repo_root } from '../helpers/cli.js';

type CommandClass = typeof Command & {
  flags?: Interfaces.FlagInput;
  baseFlags?: Interfaces.FlagInput;
  args?: Record<string, Interfaces.Arg<unknown>>;
  examples?: (string | { command: string })[];
  strict?: boolean;
};

/** Every command class, by its id with spaces ("kv get"), loaded from the sources as oclif would from dist. */
async function loadCommands(): Promise<Map<string, CommandClass>> {
  const root = path.join(repo_root, 'src', 'commands');
  const commands = new Map<string, CommandClass>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.name.endsWith('.ts')) {
        const id = path.relative(root, file).replace(/\.ts$/, '').split(path.sep).join(' ');
        commands.set(id, ((await import(pathToFileURL(file).href)) as { default: CommandClass }).default);
      }
    }
  };
  await walk(root);
  return commands;
}

let commands: Map<string, CommandClass>;
beforeAll(async () => {
  commands = await loadCommands();
});

const labs = listLabIds();

function exampleText(example: string | { command: string }): string {
  return (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'dslab');
}
const node_refs = new Set(['leader', 'random']);

/** Cluster names examples may use: a system's name (the default) or one an `up --name` example creates. */
function knownClusterNames(): Set<string> {
  const names = new Set(systems.map((s) => s.name));
  for (const example of commands.get('up')!.examples ?? []) {
    const words = splitShellWords(exampleText(example));
    const at = words.indexOf('--name');
    if (at >= 0) names.add(words[at + 1]!);
  }
  return names;
}

/** Node id prefixes of the groups other than a single-group system's n1..nN (s for breaker's services, d for its dependency, k, r, z, w …): such a group has a size of its own. */
const group_prefixes = new Set(systems.flatMap((s) => s.groups.map((g) => g.prefix)).filter((prefix) => prefix !== 'n'));

function checkNode(name: string, nodeCount: number, where: string): void {
  if (node_refs.has(name)) return;
  const grouped = /^([a-z]+)[1-9]\d*$/.exec(name);
  if (grouped && group_prefixes.has(grouped[1]!)) return;
  const match = /^n(\d+)$/.exec(name);
  expect(match && Number(match[1]) >= 1 && Number(match[1]) <= nodeCount, `${where}: node "${name}" on a ${nodeCount}-node cluster`).toBeTruthy();
}

/** A node, or a client (c1, c2, …; c0 is the supervisor's own), as fault commands may name. */
function checkFaultEndpoint(name: string, nodeCount: number, where: string): void {
  if (/^c[1-9]\d*$/.test(name)) return;
  checkNode(name, nodeCount, where);
}

/**
 * Checks that one example line runs as written: the command exists, every
 * flag exists and its value parses, and nodes, labs, systems and clusters it
 * names exist (on a cluster of `nodeCount` nodes). Returns the cluster size an
 * `up` example starts, for the examples after it.
 */
async function checkExample(line: string, nodeCount: number): Promise<number> {
  const words = splitShellWords(line);
  expect(words[0], line).toBe('dslab');
  let id = '';
  let rest = words.slice(1);
  for (let n = rest.length; n > 0; n--) {
    if (commands.has(rest.slice(0, n).join(' '))) {
      id = rest.slice(0, n).join(' ');
      rest = rest.slice(n);
      break;
    }
  }
  expect(id, `${line}: names a command`).not.toBe('');
  const command = commands.get(id)!;
  const flags: Interfaces.FlagInput = { ...command.baseFlags, ...command.flags };
  const byChar = new Map(Object.entries(flags).flatMap(([name, flag]) => (flag.char ? [[flag.char as string, name]] : [])));
  const positional: string[] = [];
  const given = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (!word.startsWith('-') || /^-\d/.test(word)) {
      positional.push(word);
      continue;
    }
    const [spelled, inline] = word.startsWith('--') ? word.slice(2).split(/=(.*)/s) : [byChar.get(word.slice(1)) ?? word, undefined];
    const name = spelled!;
    if (name === 'json') continue;
    const flag = flags[name];
    expect(flag, `${line}: flag ${word} exists on ${id}`).toBeDefined();
    if (flag!.type === 'boolean') {
      given.set(name, true);
      continue;
    }
    const value = inline ?? rest[++i];
    expect(value, `${line}: ${word} has a value`).toBeDefined();
    if (flag!.options) expect(flag!.options, `${line}: ${word} ${value}`).toContain(value);
    await flag!.parse(value!, {} as never, { ...flag, name } as never); // throws if the value is invalid
    given.set(name, value!);
  }
  const argNames = Object.keys(command.args ?? {});
  if (command.strict !== false) expect(positional.length, `${line}: at most ${argNames.length} arguments`).toBeLessThanOrEqual(argNames.length);
  const required = Object.entries(command.args ?? {}).filter(([, arg]) => arg.required).length;
  expect(positional.length, `${line}: at least ${required} arguments`).toBeGreaterThanOrEqual(required);
  const argValue = (name: string) => positional[argNames.indexOf(name)];

  // logs also reads the supervisor's log; send also reaches Maelstrom's services (send lin-kv …).
  const nonNode = (id === 'logs' && argValue('node') === 'supervisor') || (id === 'send' && (service_names as readonly string[]).includes(argValue('node')!));
  if (argValue('node') !== undefined && !nonNode) checkNode(argValue('node')!, nodeCount, line);
  if (argValue('lab') !== undefined) expect(labs, line).toContain(argValue('lab'));
  if (argValue('offset') !== undefined) parseSignedDurationMs(argValue('offset')!);
  if (argValue('percent') !== undefined) parsePercent(argValue('percent')!);
  if (id === 'partition') for (const group of positional) for (const node of group.split(',')) checkFaultEndpoint(node, nodeCount, line);
  if (typeof given.get('isolate') === 'string') checkFaultEndpoint(given.get('isolate') as string, nodeCount, line);
  if (typeof given.get('link') === 'string') for (const node of (given.get('link') as string).split('-')) checkFaultEndpoint(node, nodeCount, line);
  if (typeof given.get('cluster') === 'string') expect(knownClusterNames(), line).toContain(given.get('cluster'));
  if (id === 'up') {
    if (!given.has('bin')) expect(systems.map((s) => s.name), line).toContain(argValue('system'));
    return Number(given.get('nodes') ?? 3);
  }
  return nodeCount;
}

describe('--help', () => {
  it('every command example names a command, flags, values, nodes, labs and clusters that exist', async () => {
    let checked = 0;
    for (const [id, command] of commands) {
      for (const example of command.examples ?? []) {
        // Each example is tried on its own, on a cluster `dslab up` starts by default (3 nodes).
        await checkExample(exampleText(example), 3).catch((error: Error) => {
          throw new Error(`dslab ${id} --help: ${error.message}`);
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('the top-level examples are a session that runs in order', async () => {
    let nodeCount = 0; // nothing is running before the first `up`
    for (const example of root_examples) for (const command of example.commands) nodeCount = await checkExample(command, nodeCount);
  });

  it('finds a wrong example (the checker itself works)', async () => {
    await expect(checkExample('dslab partition n1,n2 n3,n4,n5', 3)).rejects.toThrow(/node "n4" on a 3-node cluster/);
    await expect(checkExample('dslab nemesis --interval 50ms', 3)).rejects.toThrow(/--interval must be/);
    await expect(checkExample('dslab lab init nosuch ./x', 3)).rejects.toThrow();
    await expect(checkExample('dslab up raft --cluster x', 3)).rejects.toThrow(/flag --cluster exists on up/);
    await expect(checkExample('dslab kv frob x', 3)).rejects.toThrow(/names a command/);
  });

  it('describes each topic by what its commands do, naming every one of them', () => {
    const pjson = JSON.parse(readFileSync(path.join(repo_root, 'package.json'), 'utf8')) as { oclif: { topics?: Record<string, { description: string }> } };
    const topics = new Set([...commands.keys()].filter((id) => id.includes(' ')).map((id) => id.split(' ')[0]!));
    expect([...topics].sort()).toEqual(['breaker', 'broadcast', 'counter', 'id', 'kv', 'lab', 'lock', 'set', 'zk']);
    for (const topic of topics) {
      const description = pjson.oclif.topics?.[topic]?.description;
      expect(description, `topic ${topic} has its own description`).toBeDefined();
      for (const id of commands.keys()) if (id.startsWith(`${topic} `)) expect(description, topic).toContain(id.split(' ')[1]);
    }
  });

  it('up has no --cluster (its --name says which cluster) and shows the defaults the nodes use', async () => {
    const up = commands.get('up')!;
    const flags: Interfaces.FlagInput = { ...up.baseFlags, ...up.flags };
    expect(flags.cluster).toBeUndefined();
    const shown = async (name: string) => {
      const flag = flags[name] as { defaultHelp?: () => Promise<string> };
      return flag.defaultHelp!();
    };
    expect(parseDurationRangeMs(await shown('election-timeout'))).toEqual({
      min_ms: default_raft_config.election_timeout_ms_min,
      max_ms: default_raft_config.election_timeout_ms_max,
    });
    expect(parseDurationMs(await shown('heartbeat'))).toBe(default_raft_config.heartbeat_interval_ms);
    expect(Number(await shown('snapshot-every'))).toBe(snapshot_every_default);
    expect(await shown('read')).toBe('index');
  });

  it('commands that need no running cluster have no --cluster flag', () => {
    for (const id of ['up', 'check', 'lab list', 'lab show', 'lab init']) expect(commands.get(id)!.baseFlags?.cluster, id).toBeUndefined();
    expect(commands.get('kill')!.baseFlags?.cluster).toBeDefined();
  });

  it('partition documents its GROUP arguments', () => {
    const partition = commands.get('partition')!;
    expect(Object.keys(partition.args ?? {})).toEqual(['group']);
    expect(partition.args!.group!.description).toMatch(/comma-separated/);
  });
});

describe('unknown commands', () => {
  const ids = ['kv:get', 'kv:put', 'kv:cas', 'kv:del', 'lab:list', 'lab:show', 'lab:init', 'status', 'kill', 'up'];

  it('names the unknown subcommand and lists the valid ones', () => {
    expect(unknownCommandMessage('kv:frob:x', ids)).toBe('unknown kv subcommand "frob" (kv commands: cas, del, get, put)');
    expect(unknownCommandMessage('lab:start', ids)).toBe('unknown lab subcommand "start" (lab commands: init, list, show)');
  });

  it('suggests a close name', () => {
    expect(unknownCommandMessage('kv:gte:x', ids)).toMatch(/did you mean "kv get"\?$/);
    expect(unknownCommandMessage('stauts', ids)).toBe('unknown command "stauts" (did you mean "status"?); dslab --help lists every command');
  });

  it('does not guess wildly', () => {
    expect(unknownCommandMessage('frobnicate', ids)).toBe('unknown command "frobnicate"; dslab --help lists every command');
    expect(unknownCommandMessage('x', ids)).not.toMatch(/did you mean/);
  });
});
