/**
 * The stderr line that best explains a crash: the last one that names an
 * error, else the last that is not a stack frame or Node's version footer.
 */
export function explainingLine(lines: readonly string[]): string | undefined {
  const useful = lines.filter((line) => line.trim() !== '' && !/^\s+at /.test(line) && !/^Node\.js v\d/.test(line.trim()) && !/^\s*\^+\s*$/.test(line));
  return [...useful].reverse().find((line) => /error|invariant|cannot|refus|corrupt|exception|fatal/i.test(line)) ?? useful.at(-1);
}
