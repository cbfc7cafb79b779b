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

/** The choice within two edits of `word` (typos), or null. */
function closest(word: string, choices: readonly string[]): string | null {
  let best: { choice: string; distance: number } | null = null;
  for (const choice of choices) {
    const distance = editDistance(word, choice);
    if (distance <= 2 && distance < word.length && (!best || distance < best.distance)) best = { choice, distance };
  }
  return best?.choice ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
