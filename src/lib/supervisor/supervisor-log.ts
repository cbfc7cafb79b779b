import { createWriteStream, type WriteStream } from 'node:fs';
import { followEventLines } from '../dashboard/event-lines.js';
import type { SupervisorConfig } from './config.js';
import type { EventHub } from './event-hub.js';
import { formatDurationMs } from '../util/units.js';

/** The supervisor's log stops growing past this; a last line says so. */
export const supervisor_log_bytes_max = 64 * 1024 * 1024;

/**
 * The supervisor's own log (`dslab logs supervisor`): how the cluster was
 * started, the dashboard's event lines (nodes up and down with exit codes,
 * elections, faults applied, misbehaviour), control requests it refused, and
 * errors. Appended to across runs, one timestamped line each.
 */
export class SupervisorLog {
  private readonly stream: WriteStream;
  private bytes = 0;
  private full = false;
  private closed = false;
  private stopFollowing: (() => void) | null = null;

  constructor(readonly file: string) {
    this.stream = createWriteStream(file, { flags: 'a' });
    this.stream.on('error', () => {
      this.full = true;
    });
  }

  note(text: string, t_ms = Date.now()): void {
    if (this.full || this.closed) return;
    const line = `${new Date(t_ms).toISOString()} ${text}\n`;
    this.bytes += Buffer.byteLength(line);
    if (this.bytes > supervisor_log_bytes_max) {
      this.full = true;
      this.stream.write(`${new Date(t_ms).toISOString()} the log reached ${supervisor_log_bytes_max} bytes; later lines are not recorded\n`);
      return;
    }
    this.stream.write(line);
  }

  /** Writes a line for each of the hub's events that the dashboard would log, from now on. */
  follow(events: Pick<EventHub, 'history' | 'subscribe'>): void {
    this.stopFollowing?.();
    this.stopFollowing = followEventLines(events, (line) => this.note(line.text, line.t), { history: false });
  }

  /** Writes what is still held back and closes the file. */
  close(): Promise<void> {
    this.stopFollowing?.();
    this.stopFollowing = null;
    this.closed = true;
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/** The first line of a run in the supervisor's log: everything the cluster was started with. */
export function describeStart(config: SupervisorConfig, nodeIds: string[], dir: string): string {
  const options = config.options && Object.keys(config.options).length ? JSON.stringify(config.options) : 'defaults';
  return (
    `starting cluster ${config.name}: system ${config.system}, nodes ${nodeIds.join(',')}, seed ${config.seed}, ` +
    `${describeCommands(config)}, options ${options}, init timeout ${formatDurationMs(config.init_timeout_ms)}, ` +
    `${config.keep_data ? 'keeping' : 'emptying'} the data directories; supervisor pid ${process.pid}, directory ${dir}`
  );
}

/** "node command: …", or with groups each group's. */
function describeCommands(config: SupervisorConfig): string {
  if (config.groups.length === 1) return `node command: ${config.groups[0]!.command.join(' ')}`;
  return config.groups.map((g) => `group ${g.name} (${g.prefix}1..${g.prefix}${g.count}) command: ${g.command.join(' ')}${g.options && Object.keys(g.options).length ? ` options ${JSON.stringify(g.options)}` : ''}`).join(', ');
}
