import { createWriteStream, type WriteStream } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import { line_bytes_max } from '../protocol/messages.js';
import { skippedLinesNote } from '../util/stderr.js';

/** Bytes queued to a node's stdin before further messages to it are dropped (a paused or hung node). */
export const stdin_buffer_bytes_max = 8 * 1024 * 1024;
/** How many of a node's first stderr lines are kept for status and crash reports (a compiler's or interpreter's first error). */
export const stderr_head_lines = 20;
/** How many of a node's last stderr lines are kept for status and crash reports (what it said before it died). */
export const stderr_tail_lines = 20;
/** Stack frames kept per trace; the first ones say where it was thrown, the rest stay in the node's log. */
export const stderr_frames_per_trace = 3;
/** A kept stderr line is cut to this many characters. */
export const stderr_line_chars_max = 500;
/** After a node exits, how long its output may take to be read before the exit is reported anyway (a child it started may hold the pipes). */
export const stdio_drain_ms_max = 1000;
/** How long stderr may trail a reply on stdout (two pipes, read in either order) when the reply says the node failed. */
export const stderr_settle_ms = 200;
/** A node's log file stops growing past this; a notice says so. */
export const node_log_bytes_max = 256 * 1024 * 1024;

/** JavaScript's and Java's `    at f (file:1:2)`, Ruby's `\tfrom file:1:in 'f'`, Go's `\t/path/main.go:42 +0x1d`. */
const stack_frame_line = /^\s+at |^\tfrom |^\t\S+:\d+(?: \+0x[0-9a-f]+)?$/;
/** Go's function line of a frame (`main.(*server).apply(0xc000120000)`, `created by main.main in goroutine 1`), a frame only inside a trace. */
const go_function_line = /^(?:created by )?[\w./*()-]+\(.*\)$|^created by /;
const go_goroutine_header = /^goroutine \d+ \[.*\]:$/;

/** A line of a stack trace that only says where (not what): a trace keeps its first few. */
export function isStackFrameLine(line: string, inTrace: boolean): boolean {
  return stack_frame_line.test(line) || (inTrace && go_function_line.test(line));
}

export interface NodeProcessHandlers {
  onLine(line: string): void;
  onOversized(bytes: number): void;
  /** A whole line the node wrote on stderr (besides its log), when someone asked to see them live. */
  onStderrLine?(line: string): void;
  onExit(exitCode: number | null, signal: string | null): void;
}

/** An append-only node log with a size cap, kept open across restarts. */
export class NodeLog {
  private stream: WriteStream;
  private bytes = 0;
  private full = false;

  constructor(file: string) {
    this.stream = createWriteStream(file, { flags: 'a' });
    this.stream.on('error', () => {
      this.full = true;
    });
  }

  write(text: string): void {
    if (this.full) return;
    this.bytes += Buffer.byteLength(text);
    if (this.bytes > node_log_bytes_max) {
      this.full = true;
      this.stream.write(`[dslab] log reached ${node_log_bytes_max} bytes; further output is not recorded\n`);
      return;
    }
    this.stream.write(text);
  }

  note(text: string): void {
    this.write(`[dslab ${new Date().toISOString()}] ${text}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/**
 * One incarnation of a node process: its own process group (so signals reach
 * any children it starts), line-framed stdout, stderr to the node's log.
 */
export class NodeProcess {
  readonly pid: number;
  exited = false;
  private readonly stderrHead: string[] = [];
  private readonly stderrLast: string[] = [];
  /** Lines dropped between stderrHead and stderrLast. */
  private stderrSkipped = 0;
  /** Consecutive stack-frame lines seen so far in the current trace. */
  private stderrFrames = 0;
  /** The last stderr line was a Go goroutine header ("goroutine 1 [running]:"): frames follow. */
  private inGoroutine = false;
  /** Set once the process exited and its output was read. */
  private closed = false;
  private closeWaiters: (() => void)[] = [];
  private readonly child: ChildProcess;
  private outgoing: string[] = [];
  /** Bytes in `outgoing` (lines routed this turn, not yet handed to the pipe): they count against the same bound. */
  private outgoingBytes = 0;
  private flushScheduled = false;

  constructor(argv: readonly string[], options: { cwd: string; env: Record<string, string> }, log: NodeLog, handlers: NodeProcessHandlers) {
    const [file, ...args] = argv;
    // Plain child_process rather than execa here: the supervisor uses none of execa's
    // conveniences for nodes (streams only, own process group, no cleanup), and not
    // loading it takes ~140 ms off every `dslab up`.
    this.child = spawn(file!, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // A program that cannot start has no pid; the 'error' handler below reports it as an exit.
    this.pid = this.child.pid ?? -1;
    this.child.stdin?.on('error', () => undefined);

    let partial = '';
    // Set while discarding the rest of a line that is already too long; counts its bytes.
    let skippedChars = 0;
    let skipping = false;
    const stdout = this.child.stdout!;
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf('\n', start);
        if (newline === -1) break;
        const piece = chunk.slice(start, newline);
        start = newline + 1;
        if (skipping) {
          skipping = false;
          handlers.onOversized(skippedChars + piece.length);
          skippedChars = 0;
          continue;
        }
        const line = partial ? partial + piece : piece;
        partial = '';
        if (line.length > line_bytes_max) handlers.onOversized(line.length);
        else if (line.trim() !== '') handlers.onLine(line);
      }
      if (start < chunk.length) {
        const rest = chunk.slice(start);
        if (skipping) {
          skippedChars += rest.length;
        } else {
          partial += rest;
          if (partial.length > line_bytes_max) {
            // Keep only a count, never the bytes, of a line that is already too long.
            skipping = true;
            skippedChars = partial.length;
            partial = '';
          }
        }
      }
    });

    const stderr = this.child.stderr!;
    stderr.setEncoding('utf8');
    let stderrPartial = '';
    stderr.on('data', (chunk: string) => {
      log.write(chunk);
      const lines = (stderrPartial + chunk).split('\n');
      // Only the start of an unfinished line can be kept, so only the start is held.
      stderrPartial = (lines.pop() ?? '').slice(0, stderr_line_chars_max);
      for (const line of lines) {
        this.keepStderrLine(line);
        handlers.onStderrLine?.(line);
      }
    });

    // 'exit' can come before the last of the node's stdout and stderr has been read (its
    // dying words, a traceback); 'close' comes after. Report the exit at 'close', or after
    // stdio_drain_ms_max if something the node started still holds its pipes open.
    let reported = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const reportExit = (code: number | null, signal: string | null) => {
      if (reported) return;
      reported = true;
      clearTimeout(drainTimer);
      this.keepStderrLine(stderrPartial);
      stderrPartial = '';
      this.closed = true;
      for (const wake of this.closeWaiters.splice(0)) wake();
      handlers.onExit(code, signal);
    };
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      drainTimer = setTimeout(() => reportExit(code, signal), stdio_drain_ms_max);
    });
    this.child.on('close', (code: number | null, signal: string | null) => reportExit(code, signal));
    this.child.on('error', (error) => {
      // A program that could not be started (ENOENT, EACCES) never emits exit; report it as one.
      if (this.exited || this.child.pid !== undefined) return;
      this.exited = true;
      this.keepStderrLine(`cannot start ${file}: ${error.message.split('\n')[0]}`);
      log.write(`[dslab] cannot start ${argv.join(' ')}: ${error.message}\n`);
      reportExit(127, null);
    });
  }

  /**
   * What is kept of the node's stderr for status and crash reports (the API's
   * stderr_tail): its first stderr_head_lines lines, a note of how many were
   * skipped, and its last stderr_tail_lines lines; no blank lines, and only
   * the first stderr_frames_per_trace frames of each stack trace.
   */
  get stderrTail(): string[] {
    if (this.stderrSkipped === 0) return [...this.stderrHead, ...this.stderrLast];
    return [...this.stderrHead, skippedLinesNote(this.stderrSkipped), ...this.stderrLast];
  }

  /**
   * Resolves once what the node wrote to stderr so far has most likely been
   * read: when the process has exited and closed its pipes, or after
   * stderr_settle_ms. For explaining a reply that says the node failed.
   */
  stderrSettled(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, stderr_settle_ms);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private keepStderrLine(line: string): void {
    if (line.trim() === '') return;
    if (isStackFrameLine(line, this.stderrFrames > 0 || this.inGoroutine)) {
      this.stderrFrames += 1;
      if (this.stderrFrames > stderr_frames_per_trace) return;
    } else {
      this.stderrFrames = 0;
    }
    // A Go trace's frames start after its goroutine header; the frame count starts over at each goroutine.
    this.inGoroutine = go_goroutine_header.test(line);
    const kept = line.slice(0, stderr_line_chars_max);
    if (this.stderrHead.length < stderr_head_lines) {
      this.stderrHead.push(kept);
      return;
    }
    this.stderrLast.push(kept);
    if (this.stderrLast.length > stderr_tail_lines) {
      this.stderrLast.shift();
      this.stderrSkipped += 1;
    }
  }

  /** Queues one line for the node's stdin; false when dropped because the node is not reading. */
  write(line: string): boolean {
    const stdin = this.child.stdin;
    if (this.exited || !stdin || stdin.destroyed) return false;
    if (stdin.writableLength + this.outgoingBytes > stdin_buffer_bytes_max) return false;
    this.outgoing.push(line);
    this.outgoingBytes += line.length + 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Batch all lines routed in one turn of the event loop into one write.
      setImmediate(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    const stdin = this.child.stdin;
    const lines = this.outgoing;
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (this.exited || !stdin || stdin.destroyed || lines.length === 0) return;
    stdin.write(lines.join('\n') + '\n');
  }

  closeStdin(): void {
    this.flush();
    this.child.stdin?.end();
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exited || this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
