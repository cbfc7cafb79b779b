import { constants as osConstants } from 'node:os';
import { Args, Command, Errors, Flags, type Parser } from '@oclif/core';
import { wrongKindMessage } from './cluster-kind.js';
import { commandShape, extraWordsMessage, unknownFlagMessage, type CommandShape } from './suggest.js';
import { findRunningCluster, dslabHome, type ClusterInfo } from '../lib/cluster/paths.js';
import type { ActionResult, ClusterEvent, ControlAction } from '../lib/control/api.js';
import { formatLoadProgress } from './format/load.js';
import type { LoadStats } from '../lib/load-stats.js';
import { ControlClient } from '../lib/control/client.js';
import { UserError } from '../lib/util/errors.js';
import { parsePercent } from '../lib/util/units.js';

/**
 * Shared behaviour of every dslab command: --json, and errors as one human
 * line with exit code 1 (never a stack trace). Commands that need no running
 * cluster (up, check, lab) extend this; the others extend DslabCommand.
 */
export abstract class BaseCommand extends Command {
  /**
   * The command every printed hint and replay line names: `dslab`, however this
   * run was started (the README's set-up puts it on the PATH), so that what we
   * print agrees with the README and the help examples.
   */
  protected program(): string {
    return this.config.bin;
  }

  static override enableJsonFlag = true;

  /** This command's name, arguments and flags, for suggest.ts's messages. */
  private commandShape(): CommandShape {
    const command = this.ctor as typeof BaseCommand;
    return commandShape({ id: this.id ?? '', args: command.args ?? {}, flags: { ...(command.enableJsonFlag ? { json: { description: 'format output as json' } } : {}), ...command.baseFlags, ...command.flags } as Command.Loadable['flags'] });
  }

  protected override async catch(error: Error & { oclif?: { exit?: number } }): Promise<void> {
    if (error.oclif?.exit === 0) throw error;
    this.parsed = true; // a parse error is reported here; oclif need not warn that parse never finished
    const message = parseErrorMessage(this.commandShape(), error) ?? oneLine(error);
    process.exitCode = 1;
    if (this.jsonEnabled()) this.logJson({ error: message });
    else this.logToStderr(`dslab: ${message}`);
  }
}

/** A command that acts on a running cluster: adds --cluster and the control client. */
export abstract class DslabCommand extends BaseCommand {
  static override baseFlags = {
    cluster: Flags.string({ description: 'cluster to act on (default: the most recently started running cluster)', helpValue: 'NAME' }),
  };

  /**
   * The workloads this command talks to (any one will do): a cluster whose
   * system speaks none of them is refused in one line before anything is sent.
   * Unset for commands every cluster answers (status, kill, partition, …).
   */
  static workloads: readonly string[] | undefined;

  /** Every client this command made; their event streams are closed when it ends, however it ends. */
  private readonly clients: ControlClient[] = [];

  protected findCluster(name: string | undefined): ClusterInfo {
    return findRunningCluster(dslabHome(), name);
  }

  protected override async parse<F extends Parser.OutputFlags<any>, B extends Parser.OutputFlags<any>, A extends Parser.OutputArgs<any>>(options?: Parser.Input<F, B, A>, argv?: string[]): Promise<Parser.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv);
    const workloads = (this.ctor as typeof DslabCommand).workloads;
    if (workloads) {
      const cluster = this.findCluster((parsed.flags as { cluster?: string }).cluster);
      // The registry (every system) is loaded only by the commands that need it, to keep the others quick to start.
      const { systems } = await import('../registry.js');
      const wrong = wrongKindMessage(cluster, workloads, systems);
      if (wrong) throw new UserError(wrong);
    }
    return parsed;
  }

  protected client(name: string | undefined): ControlClient {
    const client = new ControlClient(this.findCluster(name));
    this.clients.push(client);
    return client;
  }

  /** Sends one control action and prints what was done. */
  protected async act(clusterName: string | undefined, action: ControlAction): Promise<ActionResult> {
    const result = await this.client(clusterName).act(action);
    this.log(result.description);
    return result;
  }

  /**
   * Starts a load and follows its events to the end: its progress each second
   * (one line rewritten on a terminal), Ctrl-C sending `stop`. Returns the
   * start's result and the final figures; `onLoad` sees every load event
   * (a load's chosen keys).
   */
  protected async followLoad(clusterName: string | undefined, start: ControlAction, stop: ControlAction, onLoad?: (event: Extract<ClusterEvent, { type: 'load' }>) => void): Promise<{ result: ActionResult; stats: LoadStats }> {
    const json = this.jsonEnabled();
    const live = process.stdout.isTTY && !json;
    let final: LoadStats | null = null;
    const client = this.client(clusterName);
    const { result, follower } = await client.actAndFollow(start, (event) => {
      if (event.type !== 'load') return true;
      onLoad?.(event);
      if (event.phase === 'progress' && !json) {
        const text = `  ${formatLoadProgress(event.stats)}`;
        process.stdout.write(live ? `\r\x1b[2K${text}` : `${text}\n`);
      }
      if (event.phase === 'done') {
        final = event.stats;
        return false;
      }
      return true;
    });
    this.log(result.description);
    let interrupted: NodeJS.Signals | null = null;
    const interrupt = (signal: NodeJS.Signals) => {
      interrupted = signal;
      void client.act(stop).catch(() => follower.stop());
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    await follower.ended;
    if (live) process.stdout.write('\r\x1b[2K');
    if (interrupted) {
      // The shell's convention for a run ended by a signal: 128 + its number (130 for Ctrl-C).
      process.exitCode = 128 + osConstants.signals[interrupted];
      this.logToStderr(`dslab: interrupted (${interrupted === 'SIGINT' ? 'Ctrl-C' : interrupted}): the load was stopped early; the figures below cover what ran`);
    }
    if (!final) throw new UserError('the event stream ended before the load finished (did the cluster go down?)');
    return { result, stats: final };
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    // An open event stream would keep the process alive after a refusal or any other error.
    for (const client of this.clients) client.close();
    await super.finally(error);
  }
}

/**
 * oclif's "Nonexistent flag: --node" and "Unexpected argument: x" in dslab's
 * words, with the flag the user probably meant; null for any other error.
 * oclif does not export these error classes, so they are told by name.
 */
function parseErrorMessage(command: CommandShape, error: Error & { flags?: unknown; args?: unknown }): string | null {
  if (error.constructor.name === 'NonExistentFlagsError' && Array.isArray(error.flags)) return (error.flags as string[]).map((flag) => unknownFlagMessage(command, flag)).join('; ');
  if (error.constructor.name === 'UnexpectedArgsError' && Array.isArray(error.args)) return extraWordsMessage(command, (error.args as unknown[]).map(String));
  return null;
}

function oneLine(error: Error): string {
  // UserError is ours; CLIError covers oclif's parse errors (unknown flag, missing argument).
  if (!(error instanceof UserError) && !(error instanceof Errors.CLIError)) {
    const detail = process.env.DEBUG ? `\n${error.stack}` : '';
    return `internal error: ${error.message.split('\n')[0]} (this is a bug in dslab)${detail}`;
  }
  // oclif wraps a flag's own parse error as "Parsing --flag \n\t<message>"; ours already name the flag.
  const wrapped = /^Parsing (--[\w-]+) \n\t([^]*)$/.exec(error.message);
  const text = wrapped ? (wrapped[2]!.includes(wrapped[1]!) ? wrapped[2]! : `${wrapped[1]}: ${wrapped[2]!}`) : error.message;
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^See more help with/.test(line))
    .join(' ');
}

/** A command whose whole job is one control action on one node (kill, restart, pause, resume). */
export abstract class NodeActionCommand extends DslabCommand {
  static action: 'kill' | 'restart' | 'pause' | 'resume';

  static override args = {
    node: Args.string({ required: true, description: 'node id, leader, random, or a node group (each of its members)' }),
  };

  async run(): Promise<unknown> {
    const command = this.constructor as typeof NodeActionCommand;
    const { args, flags } = await this.parse(inheritedOptions(command));
    return this.act(flags.cluster, { type: command.action, node: args.node });
  }
}

/** A command that sets one probability on every link or one link (loss, duplicate, reorder). */
export abstract class LinkProbabilityCommand extends DslabCommand {
  static field: 'loss' | 'duplicate' | 'reorder';

  static override args = {
    percent: Args.string({ required: true, description: 'percentage of messages, like 20% (0% turns it off)' }),
  };

  static override flags = {
    link: Flags.string({ description: 'only this link, both directions; a node group stands for each member; one end may be a client (c1-n2) (default: every node-to-node link; client links take faults only when named)', helpValue: 'n1-n2' }),
  };

  async run(): Promise<unknown> {
    const command = this.constructor as typeof LinkProbabilityCommand;
    const { args, flags } = await this.parse(inheritedOptions(command));
    const probability = parsePercent(args.percent, command.field);
    return this.act(flags.cluster, { type: 'link_faults', link: flags.link, [command.field]: probability });
  }
}

/** oclif's parse spreads only a class's own statics; a subclass that inherits args and flags must pass them explicitly. */
function inheritedOptions<C extends typeof DslabCommand>(command: C) {
  return { args: command.args as C['args'], flags: command.flags as C['flags'], baseFlags: command.baseFlags as C['baseFlags'], enableJsonFlag: command.enableJsonFlag, strict: command.strict };
}
