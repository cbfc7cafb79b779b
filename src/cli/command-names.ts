import { closest } from './suggest.js';

/**
 * What to say when no command matches: which word is unknown, and what would
 * have been valid in its place (the subcommands of a topic such as kv, or the
 * closest command name).
 */
export function unknownCommandMessage(id: string, commandIds: readonly string[]): string {
  const words = id.split(':').filter(Boolean);
  // The longest run of leading words that is a topic (a prefix of some command id).
  let depth = 0;
  while (depth < words.length - 1 && commandIds.some((c) => c.startsWith(`${words.slice(0, depth + 1).join(':')}:`))) depth++;
  const topic = words.slice(0, depth);
  const word = words[depth] ?? '';
  const prefix = topic.length ? `${topic.join(':')}:` : '';
  const choices = [...new Set(commandIds.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length).split(':')[0]!))].sort();
  const guess = closest(word, choices);
  if (topic.length) {
    const name = topic.join(' ');
    return `unknown ${name} subcommand "${word}" (${name} commands: ${choices.join(', ')})${guess ? `; did you mean "${name} ${guess}"?` : ''}`;
  }
  return `unknown command "${word}"${guess ? ` (did you mean "${guess}"?)` : ''}; dslab --help lists every command`;
}
