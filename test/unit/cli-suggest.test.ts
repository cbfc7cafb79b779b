import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { foreignFlagMessage, wrongKindMessage } from '../../src/cli/cluster-kind.js';
import { unknownCommandMessage } from '../../src/cli/command-names.js';
import { closest, commandShape, editDistance, extraWordsMessage, unknownFlagMessage } from '../../src/cli/suggest.js';
import { groupCommand } from '../../src/lib/plugin.js';
import { optionsFromFlags, systems } from '../../src/registry.js';
import { repo_root } from '../helpers/cli.js';
import Down from '../../src/commands/down.js';
import Kill from '../../src/commands/kill.js';
import Up from '../../src/commands/up.js';
import type { Command } from '@oclif/core';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { serverNotRunning } from '../../src/workloads/locks/client.js';

const shape = (id: string, command: { args?: Command.Loadable['args']; flags?: unknown; baseFlags?: unknown }) =>
  commandShape({ id, args: command.args ?? {}, flags: { ...(command.baseFlags as object), ...(command.flags as object) } as Command.Loadable['flags'] });

describe('typos', () => {
  it('count a swap of two neighbours as one edit, so "lsit" is "list", not "init"', () => {
    expect(editDistance('lsit', 'list')).toBe(1);
    expect(editDistance('lsit', 'init')).toBe(2);
    expect(closest('lsit', ['init', 'list', 'show'])).toBe('list');
    expect(unknownCommandMessage('lab:lsit', ['lab:init', 'lab:list', 'lab:show'])).toBe('unknown lab subcommand "lsit" (lab commands: init, list, show); did you mean "lab list"?');
  });
});

describe('words after a command', () => {
  it('say the command takes none, and how to name a cluster, instead of calling the command unknown', () => {
    expect(extraWordsMessage(shape('down', Down), ['nc-y'])).toBe('down takes no arguments; to name a cluster use --cluster nc-y');
    expect(extraWordsMessage({ name: 'lab list', args: [], flags: { json: undefined } }, ['raft'])).toBe('lab list takes no arguments (got "raft")');
    expect(extraWordsMessage(shape('down', Down), ['a', 'b'])).toBe('down takes no arguments (got "a b")');
  });

  it('say how many a command with arguments takes', () => {
    expect(extraWordsMessage(shape('kill', Kill), ['n2'])).toBe('kill takes one argument (NODE); "n2" is more than that');
  });
});

describe('a flag the command does not have', () => {
  it('suggests the closest of its flags', () => {
    expect(unknownFlagMessage(shape('up', Up), '--node')).toBe('up has no --node: did you mean --nodes?');
    expect(unknownFlagMessage(shape('up', Up), '--node=3')).toBe('up has no --node: did you mean --nodes?');
    expect(unknownFlagMessage(shape('down', Down), '--claen')).toBe('down has no --claen: did you mean --clean?');
  });

  it("suggests the flag another command's users confuse it with", () => {
    expect(unknownFlagMessage(shape('up', Up), '--cluster')).toBe('up has no --cluster: use --name (cluster name)');
    expect(unknownFlagMessage(shape('down', Down), '--name')).toBe('down has no --name: use --cluster (cluster to act on)');
  });

  it('does not guess wildly', () => {
    expect(unknownFlagMessage(shape('down', Down), '--frobnicate')).toBe('down has no --frobnicate (dslab down --help lists its flags)');
    expect(unknownFlagMessage(shape('down', Down), '-x')).toBe('down has no -x (dslab down --help lists its flags)');
  });
});

/** A cluster record of `system` running dslab's own first program of that system. */
function ownCluster(system: string) {
  const plugin = systems.find((s) => s.name === system)!;
  const group = plugin.groups.find((g) => g.program !== undefined)!;
  return { name: 'c', system, command: groupCommand(group as Parameters<typeof groupCommand>[0]) };
}

describe('a command aimed at the wrong kind of cluster', () => {
  it.each([
    ['lin-kv', 'zab', 'cluster c runs zab, not raft: start one with dslab up raft'],
    ['zk', 'raft', 'cluster c runs raft, not zab or snowflake: start one with dslab up zab'],
    ['ids,unique-ids', 'raft', 'cluster c runs raft, not unique-ids or snowflake: start one with dslab up unique-ids'],
    ['locks', 'raft', 'cluster c runs raft, not locks: start one with dslab up locks'],
    ['lin-kv', 'echo', 'cluster c runs echo, not raft: start one with dslab up raft'],
  ])('%s on %s is refused in one line', (workloads, system, message) => {
    expect(wrongKindMessage(ownCluster(system), workloads.split(','), systems)).toBe(message);
  });

  it('passes the systems that speak the workload, a label of no system, and a --bin node under a system label', () => {
    expect(wrongKindMessage(ownCluster('raft'), ['lin-kv'], systems)).toBeNull();
    expect(wrongKindMessage(ownCluster('snowflake'), ['zk'], systems)).toBeNull();
    expect(wrongKindMessage({ name: 'c', system: 'mine', command: ['python3', 'node.py'] }, ['lin-kv'], systems)).toBeNull();
    expect(wrongKindMessage({ name: 'c', system: 'echo', command: ['python3', 'proxy.py'] }, ['lin-kv'], systems)).toBeNull();
  });

  it('is declared by every command that talks to a system-specific workload', async () => {
    // Offline commands (check a file, decode an id) and lock check (which also judges a stopped cluster's record) need none.
    const offline = new Set(['id check', 'id decode', 'lock check']);
    const root = path.join(repo_root, 'src', 'commands');
    const ids = ['load', ...['kv', 'zk', 'zk/session', 'id', 'lock'].flatMap((dir) => readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f.slice(0, -3)}`))];
    for (const id of ids) {
      if (offline.has(id.replaceAll('/', ' '))) continue;
      const command = ((await import(pathToFileURL(path.join(root, `${id}.ts`)).href)) as { default: { workloads?: readonly string[] } }).default;
      expect(command.workloads, id).toBeDefined();
    }
  });
});

describe("another system's flag on up", () => {
  it('is refused naming the systems that take it', () => {
    expect(foreignFlagMessage('echo', 'election-timeout', systems)).toBe('--election-timeout is an option of raft, not of echo');
    expect(foreignFlagMessage('raft', 'tick', systems)).toBe('--tick is an option of zab, snowflake and locks, not of raft');
    expect(foreignFlagMessage('raft', 'workers', systems)).toBe('--workers is an option of snowflake, not of raft');
  });

  it("is taken by a system that runs the owner's nodes, and by a --bin node of any label", () => {
    expect(foreignFlagMessage('raft', 'heartbeat', systems)).toBeNull();
    expect(foreignFlagMessage('locks', 'tick', systems)).toBeNull();
    expect(foreignFlagMessage('mine', 'election-timeout', systems)).toBeNull();
    expect(foreignFlagMessage('echo', 'nodes', systems)).toBeNull();
  });
});

describe("a schema's complaint about an option", () => {
  it('names the flag the user typed, in words, with durations as durations', () => {
    expect(() => optionsFromFlags({ ttl: '0s' })).toThrow(/^--ttl must be more than 0$/);
    expect(() => optionsFromFlags({ hold: '10m' })).toThrow(/^--hold must be at most 1m$/);
  });
});

describe("a backend's error in dslab's words", () => {
  const server = (id: string, state: 'running' | 'exited', signal: string | null = null) =>
    ({ id, kind: 'redis', group: 'redis', state, pid: null, port: 1, address: '127.0.0.1:1', restarts: 0, last_exit: signal ? { signal, exit_code: null } : null, output_tail: [], links: [] }) as unknown as NonNullable<ClusterStatus['servers']>[number];

  it('names the server that is not running', () => {
    expect(serverNotRunning({ servers: [server('redis1', 'exited', 'SIGKILL')] })).toBe('redis1 is down (SIGKILL)');
    expect(serverNotRunning({ servers: [server('redis1', 'running')] })).toBeNull();
    expect(serverNotRunning({})).toBeNull();
  });
});

describe('the table of confused flags', () => {
  it('applies only where the pair means the same: grade --name names a submission, not a cluster', () => {
    const grade = { name: 'grade', args: ['lab'], flags: { name: "the submission's name in reports", bin: undefined } };
    expect(unknownFlagMessage(grade, '--cluster')).toBe('grade has no --cluster (dslab grade --help lists its flags)');
  });
});
