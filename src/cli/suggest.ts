import type { Command } from '@oclif/core';
import { closest } from '../lib/util/closest.js';

export { closest, editDistance } from '../lib/util/closest.js';

/*
 * What to say when a command line has a word too many or a flag the command
 * does not have: pure functions over a command's name, arguments and flags, so
 * that every command gets the same words (the command_not_found hook and
 * BaseCommand.catch call them).
 */

/** What a message needs to know of a command: its words ("lab list"), its arguments' names, its flags (name → description). */
export interface CommandShape {
  name: string;
  args: readonly string[];
  flags: Readonly<Record<string, string | undefined>>;
}

/** What these messages need of a command, from oclif's manifest entry or its class. */
export function commandShape(command: Pick<Command.Loadable, 'id' | 'args' | 'flags'>): CommandShape {
  return {
    name: command.id.split(':').join(' '),
    args: Object.keys(command.args ?? {}),
    flags: Object.fromEntries(Object.entries(command.flags ?? {}).map(([name, flag]) => [name, flag.summary ?? flag.description])),
  };
}


/**
 * Flags that users of one command type on another: `up` names its new cluster
 * with --name, every other command picks a running one with --cluster. When
 * the typed flag is missing and the one to use exists (on the commands listed,
 * where the pair means the same thing), it is the suggestion, whatever the
 * spelling distance. (grade's --name names a submission, not a cluster.)
 */
export const confused_flags: readonly { typed: string; use: string; commands?: readonly string[] }[] = [
  { typed: 'cluster', use: 'name', commands: ['up'] },
  { typed: 'name', use: 'cluster' },
  { typed: 'node', use: 'worker' },
  { typed: 'worker', use: 'node' },
  { typed: 'time', use: 'duration' },
];

/** "down takes no arguments; to name a cluster use --cluster nc-y": for words after a command that takes fewer. */
export function extraWordsMessage(command: CommandShape, extra: readonly string[]): string {
  const got = extra.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word))).join(' ');
  if (command.args.length === 0) {
    const hint = extra.length === 1 && 'cluster' in command.flags ? `; to name a cluster use --cluster ${got}` : ` (got "${got}")`;
    return `${command.name} takes no arguments${hint}`;
  }
  const count = command.args.length === 1 ? 'one argument' : `${command.args.length} arguments`;
  return `${command.name} takes ${count} (${command.args.map((a) => a.toUpperCase()).join(' ')}); "${got}" is more than that`;
}

/** "up has no --cluster: use --name (cluster name)", "up has no --node: did you mean --nodes?" */
export function unknownFlagMessage(command: CommandShape, typed: string): string {
  const name = typed.replace(/^--?/, '').split('=')[0]!;
  const flags = Object.keys(command.flags);
  const counterpart = confused_flags.find((c) => c.typed === name && flags.includes(c.use) && (!c.commands || c.commands.includes(command.name)))?.use;
  if (counterpart) {
    const what = command.flags[counterpart]?.split(' (')[0];
    return `${command.name} has no --${name}: use --${counterpart}${what ? ` (${what})` : ''}`;
  }
  const guess = typed.startsWith('--') ? closest(name, flags) : null;
  if (guess) return `${command.name} has no --${name}: did you mean --${guess}?`;
  return `${command.name} has no ${typed.split('=')[0]} (dslab ${command.name} --help lists its flags)`;
}

