// A lock taken by an external program (the user's `--contender-cmd`, or the shipped kazoo script): one
// child process per round, whose output lines say when it holds and when it let go. Process handling
// and line parsing only: the loop, the resource and the state reports are the contender's.

/**
 * The command recipe: for each round the contender starts the command (no
 * shell: its words as `--contender-cmd` split them), with the ensemble's
 * connect string in its environment. The command takes the lock with
 * whatever client it likes and says so in a line of its standard output or
 * error (Go's println writes to standard error) that matches the holds
 * pattern; the pattern's first group, when it captures, is the fencing token.
 * The contender then does its critical section at the resource and writes
 * `release` to the command's standard input (a command may ignore it and let
 * go when it likes). The round ends when a line matches the releases pattern
 * or the command exits; a command that let go before the section's write is
 * stopped before writing, since it no longer holds the lock.
 *
 * Crashes, hangs past the named limits and lines that break the protocol fail
 * the round in one line (the contender's last_error) and the contender goes
 * on with the next; a command still running when its round ends is killed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { explainingLine } from '../../../lib/util/stderr.js';
import { formatDurationMs } from '../../../lib/util/units.js';
import { acquire_wait_ms_max, type Held, type LockInfo, type Recipe, type ReleaseOutcome } from './recipe.js';

/** The seed's Go lock program's lines (labs' chapter, zookeeper-lock.go): it prints these and nothing else. */
export const holds_line_default = '^lock succ';
export const releases_line_default = '^unlock succ';

/** How long a command may run before it says it holds the lock: ZooKeeper's queue behind the other contenders is waited as long as the built-in recipes wait. */
export const command_hold_wait_ms_max = acquire_wait_ms_max;
/** After the section, how long the command has to say it let go (or exit): the seed's Go program holds for 10 s whatever it is told. */
export const command_release_wait_ms_max = 60_000;
/** After its release line, how long a command has to exit before it is killed: a round's process never outlives the round. */
export const command_exit_grace_ms = 2_000;
/** A longer output line is no contender's line: the round fails. */
export const command_line_chars_max = 4_096;
/** The words of a command; more is refused at `up`. */
export const command_words_max = 256;
/** A quoted line in a failed round's one line is cut here. */
export const quoted_chars_max = 200;
/** The last standard error lines kept to say why a command failed (a Go panic's or a Python traceback's reason is among its last lines). */
export const stderr_lines_kept = 50;

/** The shipped kazoo contender (labs/_shared/contenders/kazoo_lock.py), run with Debian's python3 (the one that sees python3-kazoo). */
export const kazoo_python = '/usr/bin/python3';
export const kazoo_script = fileURLToPath(new URL('../../../../labs/_shared/contenders/kazoo_lock.py', import.meta.url));
/** The kazoo script's lines (its docstring says the protocol): "held TOKEN", then "released", or "lost STATE" when its session was suspended or lost. */
export const kazoo_holds_line = '^held (\\d+)$';
export const kazoo_releases_line = '^(released|lost)\\b';

/** What the contender runs each round, and the patterns it reads the command's lines with. */
export interface ContenderCommand {
  argv: readonly string[];
  holds_line: string;
  releases_line: string;
}

/**
 * Why the kazoo recipe cannot run here (no python, or a python without kazoo), in one line, or null.
 * `up` asks before it starts a cluster, so the line reaches the terminal rather than every round's error.
 */
export function kazooMissing(python = kazoo_python): string | null {
  const probe = spawnSync(python, ['-c', 'import kazoo'], { stdio: 'ignore' });
  if (probe.error) return `--recipe kazoo runs ${python}, which cannot start (${probe.error.message}): apt-get install python3-kazoo`;
  if (probe.status !== 0) return `--recipe kazoo needs python3-kazoo, which ${python} does not have: apt-get install python3-kazoo`;
  return null;
}

export function kazooCommand(): ContenderCommand {
  return { argv: [kazoo_python, kazoo_script], holds_line: kazoo_holds_line, releases_line: kazoo_releases_line };
}

/** Why a pattern is unusable (does not compile), or null. */
export function patternProblem(source: string): string | null {
  try {
    new RegExp(source);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Whether a pattern has a capturing group (which a holds line's token needs). */
export function capturesGroup(source: string): boolean {
  // A group that matches the empty string shows how many groups the pattern has.
  return new RegExp(`${source}|`).exec('')!.length > 1;
}

export type CommandLine = { kind: 'holds'; token: number | null } | { kind: 'releases' } | { kind: 'other' } | { kind: 'garbage'; why: string };

/** What one output line of the command means. The holds pattern is tried first: a line that matches both says the lock was taken. */
export function classifyLine(line: string, holds: RegExp, releases: RegExp): CommandLine {
  if (line.length > command_line_chars_max) return { kind: 'garbage', why: `a line of ${line.length} characters (more than ${command_line_chars_max})` };
  const held = holds.exec(line);
  if (held) {
    const captured = held[1];
    if (captured === undefined) return { kind: 'holds', token: null };
    if (!/^\d{1,15}$/.test(captured)) return { kind: 'garbage', why: `its holds line ${quote(line)} gives the token ${quote(captured)}, not a whole number` };
    return { kind: 'holds', token: Number(captured) };
  }
  if (releases.test(line)) return { kind: 'releases' };
  return { kind: 'other' };
}

function quote(text: string): string {
  return JSON.stringify(text.length > quoted_chars_max ? `${text.slice(0, quoted_chars_max)}…` : text);
}

/** How a round's command ended. */
type Ending = { how: 'release_line'; line: string } | { how: 'exit'; code: number | null; signal: NodeJS.Signals | null } | { how: 'failed'; why: string };

/** Limits a test can shorten; the named constants above in every real run. */
export interface CommandLimits {
  hold_wait_ms: number;
  release_wait_ms: number;
  exit_grace_ms: number;
}

const default_limits: CommandLimits = { hold_wait_ms: command_hold_wait_ms_max, release_wait_ms: command_release_wait_ms_max, exit_grace_ms: command_exit_grace_ms };

/** What the recipe needs from the contender: who it is, its clock, and what every command's environment carries. */
export interface CommandContext {
  node: string;
  now(): number;
  ttl_ms: number;
  /** The Zab servers' ZooKeeper connect string, when the cluster has client ports (DSLAB_ZK_CONNECT of the contender). */
  zk_connect: string | null;
  /** The directory commands run in: the user's, where `dslab up` ran (the contender's own). */
  cwd: string;
  log(text: string): void;
}

/**
 * One round's command: started at construction; `held` settles when it says
 * it holds (or fails), `ended` when it let go, exited or was failed.
 */
class CommandRound {
  readonly held: Promise<number | null>;
  readonly ended: Promise<Ending>;
  ending: Ending | null = null;
  private holding = false;
  private last_other: string | null = null;
  private readonly stderr_tail: string[] = [];
  private readonly child: ChildProcess;
  private settleHeld: { resolve(token: number | null): void; reject(error: Error): void } = { resolve: () => {}, reject: () => {} };
  private settleEnded: (ending: Ending) => void = () => {};
  private hold_timer: NodeJS.Timeout | undefined;
  private exited = false;

  constructor(
    private readonly command: ContenderCommand,
    private readonly holds: RegExp,
    private readonly releases: RegExp,
    env: Record<string, string>,
    cwd: string,
    private readonly limits: CommandLimits,
    private readonly log: (text: string) => void,
  ) {
    this.held = new Promise((resolve, reject) => (this.settleHeld = { resolve, reject }));
    // Nobody may await `held` once the round ended otherwise; its rejection is read through `ending`.
    this.held.catch(() => {});
    this.ended = new Promise((resolve) => (this.settleEnded = resolve));
    const [file, ...args] = command.argv;
    // Not detached: the command stays in the contender's process group, so `dslab kill` of the contender takes it too.
    this.child = spawn(file!, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => {});
    this.child.on('error', (error) => this.fail(`cannot start ${quote(command.argv.join(' '))}: ${error.message}`));
    // 'close', not 'exit': its last lines are read by then (a command that prints and exits at once is heard).
    this.child.on('close', (code, signal) => {
      this.exited = true;
      this.end({ how: 'exit', code, signal });
    });
    this.readLines(this.child.stdout!, 'stdout');
    this.readLines(this.child.stderr!, 'stderr');
    this.hold_timer = setTimeout(() => this.fail(`printed no line matching ${quote(command.holds_line)} within ${formatDurationMs(limits.hold_wait_ms)}${this.lastWords()}: killed`), limits.hold_wait_ms);
  }

  private readLines(stream: NodeJS.ReadableStream, which: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let newline: number;
      while ((newline = partial.indexOf('\n')) >= 0) {
        this.onLine(partial.slice(0, newline).replace(/\r$/, ''), which);
        partial = partial.slice(newline + 1);
      }
      // An unterminated line past the limit is garbage already; keep no more of it.
      if (partial.length > command_line_chars_max) {
        this.onLine(partial, which);
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial !== '') this.onLine(partial, which);
    });
  }

  private onLine(line: string, which: 'stdout' | 'stderr'): void {
    if (this.ending) return;
    // Standard error carries a program's log too: an overlong line there is cut, not taken for garbage.
    const meaning = classifyLine(which === 'stderr' ? line.slice(0, command_line_chars_max) : line, this.holds, this.releases);
    switch (meaning.kind) {
      case 'garbage':
        return this.fail(`printed ${meaning.why}: killed`);
      case 'holds':
        if (this.holding) return this.fail(`said it holds the lock twice (${quote(line)}): killed`);
        this.holding = true;
        clearTimeout(this.hold_timer);
        if (meaning.token === null) this.log(`${quote(line)} carries no token: this section is not fenced`);
        return this.settleHeld.resolve(meaning.token);
      case 'releases':
        if (!this.holding) return this.fail(`said it let go (${quote(line)}) before it said it holds the lock: killed`);
        return this.end({ how: 'release_line', line });
      case 'other':
        if (which === 'stdout') this.last_other = line;
        else {
          this.stderr_tail.push(line);
          if (this.stderr_tail.length > stderr_lines_kept) this.stderr_tail.shift();
        }
    }
  }

  /** Why it failed in its own words: the error its standard error names (a panic, a traceback), else the last line it printed that meant nothing to the protocol. */
  lastWords(): string {
    const why = explainingLine(this.stderr_tail);
    if (why !== undefined) return `; its stderr says: ${quote(why)}`;
    return this.last_other === null ? '' : `; its last line: ${quote(this.last_other)}`;
  }

  private fail(why: string): void {
    this.end({ how: 'failed', why });
    this.kill();
  }

  private end(ending: Ending): void {
    if (this.ending) return;
    this.ending = ending;
    clearTimeout(this.hold_timer);
    if (!this.holding) this.settleHeld.reject(new Error(this.describe(ending, 'before it said it holds the lock')));
    this.settleEnded(ending);
    // A command that let go but goes on running is given a little time, then killed: nothing outlives its round.
    if (ending.how === 'release_line' && !this.exited) {
      const timer = setTimeout(() => this.kill(), this.limits.exit_grace_ms);
      this.child.once('close', () => clearTimeout(timer));
    }
  }

  /** The one line that says how the command ended, `when` (before it held, while it held). */
  describe(ending: Ending, when: string): string {
    const name = quote(this.command.argv.join(' '));
    if (ending.how === 'failed') return ending.why.startsWith('cannot start') ? ending.why : `${name} ${ending.why}`;
    if (ending.how === 'exit') return `${name} ${ending.signal ? `was killed by ${ending.signal}` : `exited with code ${ending.code}`} ${when}${this.lastWords()}`;
    return `${name} let go (${quote(ending.line)}) ${when}`;
  }

  /** Asks the command to let go (a line on its standard input). */
  askRelease(): void {
    if (!this.exited && this.child.stdin!.writable) this.child.stdin!.end('release\n');
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Resolves once the process is gone (immediately when it is). */
  gone(): Promise<void> {
    return this.exited ? Promise.resolve() : new Promise((resolve) => this.child.once('close', () => resolve()));
  }
}

export class CommandLock implements Recipe {
  readonly name: string;
  private readonly holds: RegExp;
  private readonly releases: RegExp;
  /** The rounds whose command still runs (one at a time; a killed contender's exit kills them). */
  private readonly running = new Set<CommandRound>();

  constructor(
    private readonly context: CommandContext,
    private readonly command: ContenderCommand,
    name = 'command',
    private readonly limits: CommandLimits = default_limits,
  ) {
    this.name = name;
    this.holds = new RegExp(command.holds_line);
    this.releases = new RegExp(command.releases_line);
  }

  /** What the command's environment adds: the connect string (ours and the ZOOKEEPER variable ZooKeeper's own scripts read), who it is, the lock's TTL. */
  private env(): Record<string, string> {
    const zk = this.context.zk_connect;
    return {
      DSLAB_CONTENDER: this.context.node,
      DSLAB_LOCK_TTL_MS: String(this.context.ttl_ms),
      ...(zk ? { DSLAB_ZK_CONNECT: zk, ZOOKEEPER: zk } : {}),
    };
  }

  async acquire(): Promise<Held> {
    const round = new CommandRound(this.command, this.holds, this.releases, this.env(), this.context.cwd, this.limits, (text) => this.context.log(text));
    this.running.add(round);
    void round.ended.then(() => round.gone()).then(() => this.running.delete(round));
    const token = await round.held;
    return { token, acquired_ms: this.context.now(), ttl_ms: this.context.ttl_ms, detail: { round } };
  }

  /** The command still holds the lock: it has not let go or exited. */
  mayWrite(held: Held): boolean {
    return (held.detail.round as CommandRound).ending === null;
  }

  whyStopped(held: Held): string {
    const round = held.detail.round as CommandRound;
    return round.ending ? round.describe(round.ending, 'while it held the lock') : 'the command still holds the lock';
  }

  /** Asks the command to let go and waits for it to; 'lost' when it had let go (or stopped) before the section was done. */
  async release(held: Held): Promise<ReleaseOutcome> {
    const round = held.detail.round as CommandRound;
    if (round.ending) {
      this.context.log(round.describe(round.ending, 'while it held the lock'));
      // One that said it lost the lock may still be running, and may still own its lock node: asked, it cleans up and exits.
      round.askRelease();
      await round.gone();
      return 'lost';
    }
    round.askRelease();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.limits.release_wait_ms)));
    const ending = await Promise.race([round.ended, timeout]);
    clearTimeout(timer);
    if (ending === 'timeout') {
      round.kill();
      await round.gone();
      throw new Error(`${quote(this.command.argv.join(' '))} did not let go within ${formatDurationMs(this.limits.release_wait_ms)} of its section's end${round.lastWords()}: killed`);
    }
    await round.gone();
    if (ending.how === 'failed') throw new Error(`${quote(this.command.argv.join(' '))} ${ending.why}`);
    return 'released';
  }

  readCounter(): Promise<number> {
    return Promise.reject(new Error('a contender command keeps no counter: the counter is the resource\'s (--counter resource)'));
  }

  writeCounter(): Promise<void> {
    return this.readCounter().then(() => undefined);
  }

  /** The lock lives in the command's own client: each contender's state says whether its command holds it. */
  async info(): Promise<LockInfo> {
    return { holder: null, token: null, ttl_left_ms: null, waiters: [], unseen: 'taken through each contender\'s own command, which dslab does not ask: see each contender\'s STATE' };
  }

  /** Kills every command still running (synchronous: the contender's exit calls it). */
  killAll(): void {
    for (const round of this.running) round.kill();
  }

  async close(): Promise<void> {
    this.killAll();
    await Promise.all([...this.running].map((round) => round.gone()));
  }
}
