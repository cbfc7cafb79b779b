import { accessSync, constants, mkdirSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { NodeLog } from '../supervisor/node-process.js';
import { UserError } from '../util/errors.js';
import type { ServerKind } from './server-kinds.js';

/** How long a starting server has to answer its readiness probe. */
export const server_ready_timeout_ms_default = 15_000;
/** Pause between readiness probes while a server starts. */
export const server_ready_poll_ms = 50;
/** How long one readiness probe may take. */
export const server_probe_timeout_ms = 1_000;
/** After SIGKILL, how long to wait for the exit to be reported. */
export const server_kill_wait_ms = 5_000;
/** At `stop`, how long a server has to exit on SIGTERM before it gets SIGKILL. */
export const server_stop_grace_ms = 2_000;
/** Lines of a server's last output kept for status and for explaining a failed start. */
export const server_output_tail_lines = 10;

export type ServerState = 'starting' | 'running' | 'paused' | 'exited';

export interface ServerExit {
  exit_code: number | null;
  signal: string | null;
  /** True when dslab caused it (kill, stop); false when the server died by itself. */
  expected: boolean;
}

export interface ServerStatus {
  id: string;
  kind: string;
  state: ServerState;
  pid: number | null;
  port: number;
  /** "127.0.0.1:PORT": the server's own address (nodes use their link proxy's instead). */
  address: string;
  restarts: number;
  last_exit: ServerExit | null;
  output_tail: string[];
}

export interface ServerProcessOptions {
  id: string;
  kind: ServerKind;
  /** The member's data directory (created if missing), kept across restarts. */
  data_dir: string;
  /** The member's log file: the server's stdout and stderr, and dslab's notes. */
  log_file: string;
  ready_timeout_ms?: number;
  /** Called with each incarnation's pid as it starts (for the supervisor's watchdog). */
  onStart?(pid: number): void;
  /** Called on every exit, expected or not. */
  onExit?(exit: ServerExit, pid: number): void;
}

/** Resolves `binary` on PATH (or as a path); null when it is not there or not executable. */
export function findBinary(binary: string, searchPath = process.env.PATH ?? ''): string | null {
  const candidates = binary.includes('/') ? [binary] : searchPath.split(':').filter(Boolean).map((dir) => path.join(dir, binary));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return null;
}

/** The one line that says a server kind's program is missing and how to install it. */
export function notInstalledMessage(kind: ServerKind): string {
  return `${path.basename(kind.binary)} is not installed: ${kind.install_hint}`;
}

/**
 * Throws the one-line UserError when a server kind's program is missing, and
 * returns its path otherwise. `up` calls this before it starts a cluster, so
 * the user reads the line in their terminal rather than in the supervisor's log.
 */
export function assertInstalled(kind: ServerKind): string {
  const binary = findBinary(kind.binary);
  if (!binary) throw new UserError(notInstalledMessage(kind));
  return binary;
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A real server program as a cluster member: started on a free loopback port,
 * killed (SIGKILL), paused and resumed (SIGSTOP/SIGCONT), restarted on the
 * same port with the same data directory. It runs in its own process group,
 * so signals reach any helpers it forks.
 */
export class ServerProcess {
  private child: ChildProcess | null = null;
  private state: ServerState = 'exited';
  private restarts = 0;
  private lastExit: ServerExit | null = null;
  private expectingExit = false;
  private readonly outputTail: string[] = [];
  private readonly exitWaiters: (() => void)[] = [];
  private readonly log: NodeLog;
  private readonly binary: string;

  private constructor(
    private readonly options: ServerProcessOptions,
    binary: string,
    readonly port: number,
    readonly extra_ports: number[],
  ) {
    this.binary = binary;
    mkdirSync(options.data_dir, { recursive: true });
    this.log = new NodeLog(options.log_file);
  }

  /**
   * Starts a server of `options.kind` on free loopback ports and waits until it
   * answers its readiness probe. A missing program is a UserError saying how to
   * install it; a server that exits or never gets ready is a UserError with its
   * last output.
   */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const binary = assertInstalled(options.kind);
    const port = await freeLoopbackPort();
    const extra: number[] = [];
    for (let i = 0; i < options.kind.extra_ports; i++) extra.push(await freeLoopbackPort());
    const server = new ServerProcess(options, binary, port, extra);
    try {
      await server.launch();
    } catch (error) {
      await server.log.close();
      throw error;
    }
    return server;
  }

  get id(): string {
    return this.options.id;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  status(): ServerStatus {
    return {
      id: this.options.id,
      kind: this.options.kind.name,
      state: this.state,
      pid: this.state === 'exited' ? null : this.pid,
      port: this.port,
      address: this.address,
      restarts: this.restarts,
      last_exit: this.lastExit,
      output_tail: [...this.outputTail],
    };
  }

  /** SIGKILL, then waits for the exit to be reported. */
  async kill(): Promise<void> {
    if (this.state === 'exited') throw new UserError(`${this.id} is already down`);
    this.expectingExit = true;
    this.signal('SIGKILL');
    await this.waitForExit(server_kill_wait_ms);
  }

  pause(): void {
    if (this.state !== 'running') throw new UserError(`${this.id} is ${this.describeState()}, not running`);
    this.signal('SIGSTOP');
    this.state = 'paused';
    this.log.note(`paused ${this.id}`);
  }

  resume(): void {
    if (this.state !== 'paused') throw new UserError(`${this.id} is ${this.describeState()}, not paused`);
    this.signal('SIGCONT');
    this.state = 'running';
    this.log.note(`resumed ${this.id}`);
  }

  /** Starts the server again on the same port and data directory; it must be down. */
  async restart(): Promise<void> {
    if (this.state !== 'exited') throw new UserError(`${this.id} is running; kill it first (dslab kill ${this.id})`);
    this.restarts++;
    await this.launch();
  }

  /** For `down`: SIGTERM (and SIGCONT, in case it is paused), then SIGKILL if it has not exited within the grace period. */
  async stop(): Promise<void> {
    if (this.state !== 'exited') {
      this.expectingExit = true;
      this.signal('SIGTERM');
      this.signal('SIGCONT');
      await this.waitForExit(server_stop_grace_ms);
      if (!this.hasExited()) {
        this.signal('SIGKILL');
        await this.waitForExit(server_kill_wait_ms);
      }
    }
    await this.log.close();
  }

  /** A method rather than a comparison inline: the state changes while awaiting, which TypeScript's narrowing cannot see. */
  private hasExited(): boolean {
    return this.state === 'exited';
  }

  private describeState(): string {
    return this.state === 'exited' ? 'down' : this.state;
  }

  private async launch(): Promise<void> {
    const kind = this.options.kind;
    const args = kind.args({ id: this.options.id, port: this.port, extra_ports: this.extra_ports, data_dir: this.options.data_dir });
    this.log.note(`starting ${this.id}: ${[this.binary, ...args.map((a) => (a === '' ? "''" : a))].join(' ')}`);
    this.state = 'starting';
    this.expectingExit = false;
    this.outputTail.length = 0;
    const child = spawn(this.binary, args, { cwd: this.options.data_dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    const onOutput = (chunk: string): void => {
      this.log.write(chunk);
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        this.outputTail.push(line.slice(0, 500));
        if (this.outputTail.length > server_output_tail_lines) this.outputTail.shift();
      }
    };
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    const pid = child.pid ?? -1;
    child.on('error', (error) => {
      // The program could not be started (it vanished since findBinary, or is not executable): no exit event follows.
      if (child.pid !== undefined) return;
      this.outputTail.push(`cannot start ${this.binary}: ${error.message}`);
      this.onChildExit(child, pid, 127, null);
    });
    child.on('exit', (code, signal) => this.onChildExit(child, pid, code, signal));
    if (pid > 0) this.options.onStart?.(pid);
    await this.waitUntilReady();
  }

  private async waitUntilReady(): Promise<void> {
    const timeout_ms = this.options.ready_timeout_ms ?? server_ready_timeout_ms_default;
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      if (this.state === 'exited') {
        const exit = this.lastExit!;
        throw new UserError(`${this.id} (${this.options.kind.binary}) exited while starting (${describeExit(exit)})${this.lastLine()}`);
      }
      if (await this.options.kind.probe(this.port, server_probe_timeout_ms)) {
        // A server killed while the probe ran is not running.
        if (this.state === 'starting') this.state = 'running';
        return;
      }
      if (Date.now() >= deadline) {
        this.expectingExit = true;
        this.signal('SIGKILL');
        await this.waitForExit(server_kill_wait_ms);
        throw new UserError(`${this.id} (${this.options.kind.binary}) did not answer on ${this.address} within ${timeout_ms} ms${this.lastLine()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, server_ready_poll_ms));
    }
  }

  private lastLine(): string {
    const line = this.outputTail.at(-1);
    return line ? `; last output: ${line}` : '';
  }

  private onChildExit(child: ChildProcess, pid: number, code: number | null, signal: string | null): void {
    if (this.child !== child || this.state === 'exited') return;
    this.state = 'exited';
    const exit: ServerExit = { exit_code: code, signal, expected: this.expectingExit };
    this.lastExit = exit;
    this.log.note(`${this.id} exited (${describeExit(exit)})${exit.expected ? '' : ' unexpectedly'}`);
    this.options.onExit?.(exit, pid);
    for (const wake of this.exitWaiters.splice(0)) wake();
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (this.state === 'exited' || !pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone; its exit is on the way.
    }
  }

  private waitForExit(timeout_ms: number): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeout_ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function describeExit(exit: Pick<ServerExit, 'exit_code' | 'signal'>): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.exit_code)}`;
}
