/**
 * Reading a node's stderr for the reason it crashed or never answered init.
 *
 * The lines come from NodeProcess: the first and last lines of stderr (a
 * compiler or interpreter prints its first error at the start; a crash after
 * a while of logging prints it at the end), without blank lines and with only
 * the first few frames of each stack trace.
 */

/** Where an error happened, what it says, and the source line it quotes, when the output names them. */
export interface StderrExplanation {
  message: string;
  /** file:line[:column] */
  location?: string;
  /** The offending source line, as the interpreter quoted it. */
  source?: string;
}

/** The line NodeProcess puts where it skipped lines between the head and the tail it keeps. */
export function skippedLinesNote(count: number): string {
  return `[dslab: ${count} lines not kept here; the node's log has them all]`;
}
const skipped_lines_marker = /^\[dslab: \d+ lines not kept here/;

/** esbuild/tsx (`file:1:2: ERROR: …`), gcc/clang/go vet style (`file:1:2: error: …`), tsc (`file(1,2): error TS…`). */
const compiler_diagnostic = [/^(\S[^:]*?:\d+(?::\d+)?):\s*((?:fatal\s+)?error(?:\[\w+\])?:\s*.+)$/i, /^(\S[^(]*?\(\d+,\d+\)):\s*(error\s+TS\d+:.+)$/];
/** esbuild's and others' "N errors" summary, to say how many more there are. */
const error_count = /\bwith (\d+) errors?\b/i;

/** Python: `  File "x.py", line 3, in f` (a frame, or the place of a SyntaxError). */
const python_frame = /^\s*File "(.+)", line (\d+)/;
/** Python's final line: the exception's qualified name, then its message. */
const python_exception = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration))(?::\s*(.*))?$/;
const python_chained = /^(During handling of the above exception|The above exception was the direct cause)/;

/** Node's report of an uncaught error starts with where it was thrown: `file:///x.mjs:3`, `/x.ts:4`, `node:internal/…:123`. */
const node_location = /^((?:file:\/\/|\/|node:|<anonymous)\S*):(\d+)$/;
const stack_frame = /^\s+at\s+(?:.*\()?((?:file:\/\/)?\/[^():]+|[^():\s]+\.\w+):(\d+):(\d+)\)?\s*$/;
/** Lines that say nothing about the failure. */
const noise = [/^Node\.js v\d/, /^\(Use `node --trace-/, /^\s*[\^~]+\s*$/, skipped_lines_marker];
/** Words that make a plain line worth quoting. */
const error_words = /error|exception|invariant|cannot|can't|could not|refus|corrupt|fatal|panic|fail|invalid|denied|not found|no such|unable|missing|unknown|bad |must /i;

/**
 * The explanation of a failed start or a crash, in the words of the program
 * that failed: a compiler's first diagnostic; Python's exception with the
 * file, line and source of the innermost frame; Node's uncaught error with
 * where it was thrown; else the last line that names an error, or the last
 * line at all (a program that prints a plain message and exits 1).
 */
export function explainStderr(input: readonly string[]): StderrExplanation | undefined {
  const lines = input.map((line) => line.replace(/\s+$/, '')).filter((line) => line.trim() !== '');
  return compilerError(lines) ?? pythonError(lines) ?? nodeError(lines) ?? plainError(lines);
}

/** explainStderr as one line: `file:line: message (`source`)`. */
export function explainingLine(lines: readonly string[]): string | undefined {
  const found = explainStderr(lines);
  if (!found) return undefined;
  const text = found.location ? `${found.location}: ${found.message}` : found.message;
  return found.source ? `${text} (\`${found.source}\`)` : text;
}

function compilerError(lines: string[]): StderrExplanation | undefined {
  for (const line of lines) {
    for (const pattern of compiler_diagnostic) {
      const match = pattern.exec(line.trim());
      if (!match) continue;
      const count = lines.map((l) => error_count.exec(l)).find(Boolean);
      const more = count && Number(count[1]) > 1 ? ` (and ${Number(count[1]) - 1} more)` : '';
      return { location: match[1]!, message: match[2]! + more };
    }
  }
  return undefined;
}

function pythonError(lines: string[]): StderrExplanation | undefined {
  let frame: { location: string; source?: string } | undefined;
  let found: StderrExplanation | undefined;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const at = python_frame.exec(line);
    if (at) {
      const next = lines[i + 1];
      const quotes = next !== undefined && /^\s/.test(next) && !python_frame.test(next) && !noise.some((n) => n.test(next));
      frame = { location: `${at[1]}:${at[2]}`, source: quotes ? next.trim() : undefined };
      continue;
    }
    if (!frame || !python_exception.test(line)) continue;
    found = { message: line.trim(), ...frame };
    // A chained exception ("During handling of the above exception, ...") is explained by its last link.
    if (!python_chained.test(lines[i + 1] ?? '')) return found;
    frame = undefined;
  }
  return found;
}

function nodeError(lines: string[]): StderrExplanation | undefined {
  for (let i = 0; i < lines.length; i += 1) {
    const header = node_location.exec(lines[i]!);
    if (!header) continue;
    // file:line, the source line, a caret line, then the error itself.
    let j = i + 1;
    const source = lines[j] !== undefined && !stack_frame.test(lines[j]!) ? lines[j]!.trim() : undefined;
    if (source !== undefined) j += 1;
    while (j < lines.length && noise.some((n) => n.test(lines[j]!))) j += 1;
    const message = lines[j];
    if (message === undefined || stack_frame.test(message)) continue;
    const internal = header[1]!.startsWith('node:') || header[1]!.startsWith('<anonymous');
    if (!internal) return { location: `${filePath(header[1]!)}:${header[2]}`, message: message.trim(), source };
    // Thrown inside Node itself (a module not found, a thrown non-Error): the first frame in the program's own files, if any.
    const own = lines
      .slice(j + 1)
      .map((l) => stack_frame.exec(l))
      .find((m) => m && !m[1]!.startsWith('node:') && !m[1]!.includes('/node_modules/'));
    return own ? { location: `${filePath(own[1]!)}:${own[2]}:${own[3]}`, message: message.trim() } : { message: message.trim() };
  }
  return undefined;
}

function plainError(lines: string[]): StderrExplanation | undefined {
  const useful = lines.filter((line) => !/^\s+at /.test(line) && !noise.some((n) => n.test(line.trim())) && !/^\s*[{}]\s*$/.test(line) && !/^\s+\w+: .*,?$/.test(line));
  const index = findLastIndex(useful, (line) => error_words.test(line));
  const chosen = index === -1 ? useful.length - 1 : index;
  if (chosen < 0) return undefined;
  // A line ending in ":" introduces the next one (Rust's "panicked at src/main.rs:2:5:", "failed with 1 error:").
  const introduces = (i: number) => i >= 0 && i + 1 < useful.length && useful[i]!.trim().endsWith(':');
  const first = introduces(chosen - 1) ? chosen - 1 : chosen;
  const last = introduces(first) ? first + 1 : first;
  return { message: useful.slice(first, last + 1).map((l) => l.trim()).join(' ') };
}

function filePath(location: string): string {
  return location.startsWith('file://') ? decodeURIComponent(location.slice('file://'.length)) : location;
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i -= 1) if (test(items[i]!)) return i;
  return -1;
}
