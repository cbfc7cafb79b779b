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
  /** Set when no line looked like an error: the message is only the last thing the program said, which may not be why it stopped. */
  last_line?: true;
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
 * that failed: a compiler's first diagnostic (it comes first and the rest
 * follows from it); else the last error the output shows, recognised by the
 * way its language reports one (Python's traceback, Node's uncaught error, a
 * Go or Rust panic, a Java or Ruby exception, Maelstrom's "No handler for"),
 * with the file and line it names; else the last line that names an error;
 * else the last line at all (a program that prints a plain message and
 * exits 1), marked `last_line`.
 */
export function explainStderr(input: readonly string[]): StderrExplanation | undefined {
  const lines = input.map((line) => line.replace(/\s+$/, '')).filter((line) => line.trim() !== '');
  return compilerError(lines) ?? lastCrash(lines) ?? plainError(lines);
}

/** An error a recogniser found, and the index of the line that states it (the latest one is the one that stopped the program). */
interface Found {
  at: number;
  explanation: StderrExplanation;
}

/** Each finds the last error its language reports in the lines; on the same line the earlier recogniser, which reads more, wins. */
const crash_recognisers: readonly ((lines: string[]) => Found | undefined)[] = [pythonError, nodeError, goPanic, rustPanic, javaException, rubyError, printedException, fatalLine];

function lastCrash(lines: string[]): StderrExplanation | undefined {
  let best: Found | undefined;
  for (const recognise of crash_recognisers) {
    const found = recognise(lines);
    if (found && (!best || found.at > best.at)) best = found;
  }
  return best?.explanation;
}

/** explainStderr as one line: `file:line: message (`source`)`. */
export function explainingLine(lines: readonly string[]): string | undefined {
  const found = explainStderr(lines);
  return found && describeExplanation(found);
}

/** An explanation as one line: `file:line: message (`source`)`. */
export function describeExplanation(found: StderrExplanation): string {
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

function pythonError(lines: string[]): Found | undefined {
  let frame: { location: string; source?: string } | undefined;
  let found: Found | undefined;
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
    // A chained exception ("During handling of the above exception, ...") is explained by its last link, as is a later traceback.
    found = { at: i, explanation: { message: line.trim(), ...frame } };
    frame = undefined;
  }
  return found;
}

function nodeError(lines: string[]): Found | undefined {
  let found: Found | undefined;
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
    if (!internal) {
      found = { at: j, explanation: { location: `${filePath(header[1]!)}:${header[2]}`, message: message.trim(), source } };
      continue;
    }
    // Thrown inside Node itself (a module not found, a thrown non-Error): the first frame in the program's own files, if any.
    const own = ownFrame(lines, j + 1);
    found = { at: j, explanation: own ? { location: own, message: message.trim() } : { message: message.trim() } };
  }
  return found;
}

/** The first `at` frame from `from` on in the program's own files (not Node's, not a dependency's), as file:line:column. */
function ownFrame(lines: string[], from: number): string | undefined {
  for (let i = from; i < lines.length; i += 1) {
    const match = stack_frame.exec(lines[i]!);
    if (!match) {
      if (/^\s+at /.test(lines[i]!)) continue;
      break;
    }
    if (!match[1]!.startsWith('node:') && !match[1]!.includes('/node_modules/')) return `${filePath(match[1]!)}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

/** Go: `panic: …` or the runtime's `fatal error: …`, then the goroutine's frames (`\t/path/main.go:42 +0x1d`). */
const go_panic = /^(?:panic|fatal error): \S/;
const go_frame = /^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$/;
/** Frames in Go's own runtime or in a module the program uses say less than the program's first own frame. */
const go_library_path = /\/(?:src\/runtime|pkg\/mod)\//;

function goPanic(lines: string[]): Found | undefined {
  // A panic while panicking prints its causes in order; the first is where it started.
  const at = lines.findIndex((line) => go_panic.test(line));
  if (at === -1) return undefined;
  let location: string | undefined;
  for (const line of lines.slice(at + 1)) {
    const frame = go_frame.exec(line);
    if (frame && !go_library_path.test(frame[1]!)) {
      location = `${frame[1]}:${frame[2]}`;
      break;
    }
  }
  return { at, explanation: { message: lines[at]!.trim(), ...(location ? { location } : {}) } };
}

/** Rust since 1.73: `thread 'main' panicked at src/main.rs:2:5:` and the message on the next line; before: `… panicked at 'message', src/main.rs:2:5`. */
const rust_panic = /^thread '([^']*)' panicked at (\S+:\d+:\d+):$/;
const rust_panic_old = /^thread '([^']*)' panicked at '(.*)', (\S+:\d+:\d+)$/;

function rustPanic(lines: string[]): Found | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const old = rust_panic_old.exec(lines[i]!);
    if (old) return { at: i, explanation: { location: old[3]!, message: `thread '${old[1]}' panicked: ${old[2]}` } };
    const current = rust_panic.exec(lines[i]!);
    if (current) {
      const message = lines[i + 1]?.trim();
      return { at: i + 1, explanation: { location: current[2]!, message: `thread '${current[1]}' panicked${message ? `: ${message}` : ''}` } };
    }
  }
  return undefined;
}

/** Java (and other JVM languages): `Exception in thread "main" java.lang.X: …`, its root cause `Caused by: …`, frames `\tat pkg.C.m(C.java:42)`. */
const java_uncaught = /^Exception in thread "[^"]*" (\S.*)$/;
const java_caused_by = /^Caused by: (\S.*)$/;
const java_frame = /^\s+at \S+\((\w[\w$]*\.(?:java|kt|scala|groovy|clj)):(\d+)\)$/;

function javaException(lines: string[]): Found | undefined {
  let found: Found | undefined;
  for (let i = 0; i < lines.length; i += 1) {
    const match = java_uncaught.exec(lines[i]!) ?? (found ? java_caused_by.exec(lines[i]!) : null);
    if (!match) continue;
    const frame = lines
      .slice(i + 1)
      .map((line) => java_frame.exec(line))
      .find(Boolean);
    found = { at: i, explanation: { message: match[1]!, ...(frame ? { location: `${frame[1]}:${frame[2]}` } : {}) } };
  }
  return found;
}

/** Ruby: `/x/node.rb:12:in 'handle': undefined method '+' for nil (NoMethodError)` (older Rubies quote with a backtick). */
const ruby_error = /^(\S+\.rb:\d+):in [`'][^']*': (.*) \(([A-Z][\w:]*)\)$/;

function rubyError(lines: string[]): Found | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const match = ruby_error.exec(lines[i]!.trim());
    if (match) return { at: i, explanation: { location: match[1]!, message: `${match[3]}: ${match[2]}` } };
  }
  return undefined;
}

/** An exception a program printed itself, followed by its stack (`console.error(err)`, `e.printStackTrace()`, C#): `TypeError: x` then `    at …`. */
const printed_exception = /^(?:Uncaught\s+)?(?:[\w$]+\.)*[A-Z][\w$]*(?:Error|Exception)(?: \[\w+\])?(?::\s.*)?$/;

function printedException(lines: string[]): Found | undefined {
  for (let i = lines.length - 2; i >= 0; i -= 1) {
    if (!printed_exception.test(lines[i]!) || !/^\s+at /.test(lines[i + 1]!)) continue;
    const own = ownFrame(lines, i + 1);
    const java = lines.slice(i + 1).map((line) => java_frame.exec(line)).find(Boolean);
    const location = own ?? (java ? `${java[1]}:${java[2]}` : undefined);
    return { at: i, explanation: { message: lines[i]!.trim(), ...(location ? { location } : {}) } };
  }
  return undefined;
}

/** A line that says outright the program is giving up: Maelstrom's "No handler for …" (Go's log.Fatal prints it), FATAL, fatal:, panic. */
const fatal_line = /\bNo handler for\b|^(?:\S+ )?(?:\S+ )?(?:FATAL|fatal|Fatal|PANIC)\b[:\s]/;
/** The date and time Go's log package (and many loggers) put before a line. */
const log_timestamp = /^\d{4}[/-]\d\d[/-]\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?Z? /;

function fatalLine(lines: string[]): Found | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    if (fatal_line.test(lines[i]!)) return { at: i, explanation: { message: lines[i]!.trim().replace(log_timestamp, '') } };
  }
  return undefined;
}

function plainError(lines: string[]): StderrExplanation | undefined {
  const useful = lines.filter((line) => !/^\s+at /.test(line) && !noise.some((n) => n.test(line.trim())) && !/^\s*[{}]\s*$/.test(line) && !/^\s+\w+: .*,?$/.test(line));
  const index = findLastIndex(useful, (line) => error_words.test(line));
  const chosen = index === -1 ? useful.length - 1 : index;
  if (chosen < 0) return undefined;
  const guessed = index === -1 ? ({ last_line: true } as const) : {};
  // A line ending in ":" introduces the next one (Rust's "panicked at src/main.rs:2:5:", "failed with 1 error:").
  const introduces = (i: number) => i >= 0 && i + 1 < useful.length && useful[i]!.trim().endsWith(':');
  const first = introduces(chosen - 1) ? chosen - 1 : chosen;
  const last = introduces(first) ? first + 1 : first;
  return { message: useful.slice(first, last + 1).map((l) => l.trim()).join(' '), ...guessed };
}

function filePath(location: string): string {
  return location.startsWith('file://') ? decodeURIComponent(location.slice('file://'.length)) : location;
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i -= 1) if (test(items[i]!)) return i;
  return -1;
}
