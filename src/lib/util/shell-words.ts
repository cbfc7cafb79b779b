import { UserError } from './errors.js';

/**
 * Splits a command line into words the way a POSIX shell does, without running
 * one: blanks separate words; single quotes keep everything literally; double
 * quotes keep everything except that a backslash escapes $ ` " \ and a
 * newline; outside quotes a backslash keeps the next character (and removes a
 * backslash-newline). Nothing is expanded, so anything a shell would expand or
 * treat as an operator (variables, globs, ~, pipes, redirections, ;, &, #) is
 * refused rather than passed on with a meaning the user did not intend; wrap
 * such a command in `sh -c '…'`.
 */
export function splitShellWords(text: string, what = 'command'): string[] {
  const words: string[] = [];
  let word = '';
  /** Whether a word has started: '' (from quotes) is a word, blanks are not. */
  let inWord = false;
  const refuse = (char: string, why: string): never => {
    throw new UserError(`${what} "${text}": ${why} ${JSON.stringify(char)} is not supported (dslab runs the command without a shell; to use one, write: sh -c '…')`);
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (char === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new UserError(`${what} "${text}": a single quote is not closed`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
      continue;
    }
    if (char === '"') {
      i = readDoubleQuoted(text, i + 1, (part) => (word += part), (c) => refuse(c, 'inside double quotes,'), what);
      inWord = true;
      continue;
    }
    if (char === '\\') {
      if (i + 1 >= text.length) throw new UserError(`${what} "${text}": ends with a backslash that escapes nothing`);
      const next = text[++i]!;
      if (next !== '\n') {
        word += next;
        inWord = true;
      }
      continue;
    }
    if ('|&;<>()$`*?['.includes(char)) refuse(char, 'the shell character');
    if ((char === '~' || char === '#') && !inWord) refuse(char, 'a word starting with');
    word += char;
    inWord = true;
  }
  if (inWord) words.push(word);
  return words;
}

/** Reads a double-quoted part starting after its opening quote; returns the index of the closing quote. */
function readDoubleQuoted(text: string, start: number, append: (part: string) => void, refuse: (char: string) => never, what: string): number {
  for (let i = start; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') return i;
    if (char === '$' || char === '`') refuse(char);
    if (char === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1]!)) {
      const next = text[++i]!;
      if (next !== '\n') append(next);
      continue;
    }
    append(char);
  }
  throw new UserError(`${what} "${text}": a double quote is not closed`);
}
