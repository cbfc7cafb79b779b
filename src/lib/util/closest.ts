// The nearest of a few names to a word typed wrong (a flag, a command, a topology): edit distance with
// a swap of two neighbours counted as one edit. The CLI's suggestions and dslab test's arguments use it.

/** How far a typo may be from the name it stands for, in edits (a swap of two neighbours is one). */
export const typo_edits_max = 2;

/** The choice within a couple of edits of `word` (a typo), the nearest first, or null. */
export function closest(word: string, choices: readonly string[]): string | null {
  let best: { choice: string; distance: number } | null = null;
  for (const choice of choices) {
    const distance = editDistance(word, choice);
    if (distance <= typo_edits_max && distance < word.length && (!best || distance < best.distance)) best = { choice, distance };
  }
  return best?.choice ?? null;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn a into b: "lsit" is one from "list", two from "init". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
