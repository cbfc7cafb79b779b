// A lock contender's node program (group contenders): the critical-section loop over its recipe. It
// judges nothing: the resource records what it saw and the checker judges.

/**
 * A lock contender (k1..kN): on `lock_run {rounds}` it loops over the
 * critical section — acquire the lock, read the counter, work for hold_ms,
 * write the counter plus one, release — with the recipe --recipe picks
 * (recipes/), or the user's --contender-cmd (one process per round,
 * recipes/command.ts). The counter is the resource node's (r1), or the backend's with
 * `--counter backend`, in which case the contender tells the resource what it
 * read and wrote (so the checker sees every section either way). It reports
 * its state to the supervisor: waiting, holding, writing or idle.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { Node, RpcError } from '../../lib/runtime/node.js';
import { type LockOptions, readLockOptions, readLockPlantedBug } from './options.js';
import { type CommandContext, CommandLock, kazooCommand } from './recipes/command.js';
import { EtcdLock } from './recipes/etcd.js';
import { type Held, type Recipe, type RecipeContext, sleep } from './recipes/recipe.js';
import { RedisNaive, RedisSetNx } from './recipes/redis.js';
import { ZkLock, type ZkSession } from './recipes/zk.js';
import { nodeTransport, ZkClient } from '../../lib/zk/client.js';

/** How long a contender waits for the resource's answer to a read or write. */
export const resource_timeout_ms = 5_000;
/** After a failed round (backend down, stale token), before the next: a dead backend is not hammered. */
export const failed_round_pause_ms = 200;
/** Rounds one lock_run may ask for; more are refused. */
export const rounds_max = 1_000_000;
/** Acquire latencies a contender keeps for lock_stats (the benchmark's p50/p99); the oldest go first. */
export const acquire_samples_max = 10_000;

export type ContenderState = 'idle' | 'waiting' | 'holding' | 'writing' | 'releasing';

export interface ContenderStats {
  rounds_done: number;
  /** Increments whose write was acknowledged. */
  acked: number;
  /** Writes (or reads) the resource refused: a stale token. */
  rejected: number;
  /** Rounds that failed otherwise: backend or resource unreachable, lock wait too long, session gone. */
  failed: number;
  /** Releases that found the lock no longer this contender's. */
  lock_lost: number;
  /** ZooKeeper: sections abandoned before writing because the session could no longer be trusted. */
  stopped_before_write: number;
}

/** The ZooKeeper session a zk contender uses: the shared client over this node's transport. */
async function connectZk(node: Node, servers: string[], timeout_ms: number): Promise<ZkSession> {
  if (servers.length === 0) throw new Error('no coordinator servers in init (dslab_groups.coordinator)');
  const session: ZkSession = await ZkClient.connect(nodeTransport(node), servers, { timeout_ms });
  return session;
}

export class Contender {
  state: ContenderState = 'idle';
  rounds_left = 0;
  round = 0;
  token: number | null = null;
  /** True while the recipe waits in its backend's queue with its watch in place (RecipeContext.queued). */
  queued = false;
  readonly stats: ContenderStats = { rounds_done: 0, acked: 0, rejected: 0, failed: 0, lock_lost: 0, stopped_before_write: 0 };
  last_error: string | null = null;
  private running = false;
  /** This process's run, so the resource tells a restarted contender's round 1 from the one before. */
  private readonly incarnation = randomBytes(4).toString('hex');
  /** Since the last lock_stats reset: acquire latencies (ms), cycles, and when the first began and the last ended. */
  private samples: number[] = [];
  private cycles = 0;
  private first_start_ms: number | null = null;
  private last_end_ms: number | null = null;

  constructor(
    private readonly node: Node,
    private readonly options: LockOptions,
    readonly recipe: Recipe,
    private readonly resource: string,
  ) {}

  report(): void {
    this.node.reportState({
      role: 'contender',
      lock_state: this.state,
      lock_queued: this.queued,
      token: this.token,
      rounds_left: this.rounds_left,
      ...this.stats,
      last_error: this.last_error,
    });
  }

  setQueued(queued: boolean): void {
    if (this.queued === queued) return;
    this.queued = queued;
    this.report();
  }

  private set(state: ContenderState): void {
    this.state = state;
    this.report();
  }

  run(rounds: number): void {
    this.rounds_left += rounds;
    this.report();
    if (!this.running) void this.loop();
  }

  stop(): void {
    this.rounds_left = 0;
    this.report();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.rounds_left > 0) {
      this.rounds_left--;
      this.round++;
      const ok = await this.section(this.round);
      this.stats.rounds_done++;
      this.set('idle');
      if (!ok) await sleep(failed_round_pause_ms);
    }
    this.running = false;
    this.report();
  }

  private fields(held: Held, round: number): MessageBody {
    return { type: '', round, incarnation: this.incarnation, token: held.token, acquired_ms: held.acquired_ms, ttl_ms: held.ttl_ms };
  }

  /** What the benchmark reads: acquire latencies and the span of the cycles since the last reset. */
  timings(reset: boolean): Record<string, unknown> {
    const result = { acquire_ms: [...this.samples], cycles: this.cycles, first_start_ms: this.first_start_ms, last_end_ms: this.last_end_ms };
    if (reset) {
      this.samples = [];
      this.cycles = 0;
      this.first_start_ms = this.last_end_ms = null;
    }
    return result;
  }

  /** One critical section; false when it failed. */
  private async section(round: number): Promise<boolean> {
    this.set('waiting');
    // Durations by the monotonic clock (a skewed node clock would bend them); the span's ends by the node's.
    const started = performance.now();
    this.first_start_ms ??= this.node.now();
    let held: Held;
    try {
      held = await this.recipe.acquire();
    } catch (error) {
      return this.failed(error, 'acquire');
    }
    if (this.samples.length >= acquire_samples_max) this.samples.shift();
    this.samples.push(performance.now() - started);
    this.token = held.token;
    this.set('holding');
    try {
      const value = await this.readCounter(held, round);
      if (this.options.hold_ms > 0) await sleep(this.options.hold_ms);
      if (!this.recipe.mayWrite(held)) {
        this.stats.stopped_before_write++;
        this.last_error = `stopped before writing: ${this.recipe.whyStopped?.(held) ?? 'the session could no longer be trusted'}`;
        return false;
      }
      this.set('writing');
      await this.writeCounter(held, round, value + 1);
      this.stats.acked++;
      return true;
    } catch (error) {
      if (error instanceof RpcError && error.code === error_codes.precondition_failed) {
        this.stats.rejected++;
        this.last_error = `rejected: ${error.message}`;
        return false;
      }
      return this.failed(error, 'critical section');
    } finally {
      this.set('releasing');
      try {
        if ((await this.recipe.release(held)) === 'lost') this.stats.lock_lost++;
      } catch (error) {
        this.node.log(`release failed: ${describe(error)}`);
      }
      this.token = null;
      this.cycles++;
      this.last_end_ms = this.node.now();
    }
  }

  private failed(error: unknown, where: string): false {
    this.stats.failed++;
    this.last_error = `${where}: ${describe(error)}`;
    this.node.log(this.last_error);
    return false;
  }

  private async readCounter(held: Held, round: number): Promise<number> {
    if (this.options.counter === 'resource') {
      const reply = await this.node.rpc(this.resource, { ...this.fields(held, round), type: 'res_read' }, resource_timeout_ms);
      return Number(reply.value);
    }
    const value = await this.recipe.readCounter();
    await this.note(held, round, 'read', value, true);
    return value;
  }

  private async writeCounter(held: Held, round: number, value: number): Promise<void> {
    if (this.options.counter === 'resource') {
      await this.node.rpc(this.resource, { ...this.fields(held, round), type: 'res_write', value }, resource_timeout_ms);
      return;
    }
    await this.recipe.writeCounter(value);
    await this.note(held, round, 'write', value, true);
  }

  /** Tells the resource what this contender did to the backend's counter; a lost note only narrows what the checker sees. */
  private async note(held: Held, round: number, kind: 'read' | 'write', value: number, ok: boolean): Promise<void> {
    await this.node.rpc(this.resource, { ...this.fields(held, round), type: 'res_note', kind, value, ok }, resource_timeout_ms).catch((error: unknown) => this.node.log(`note to ${this.resource} failed: ${describe(error)}`));
  }

  /** The counter as it stands (for `dslab lock status`): the resource's, or the backend's, which the resource is then told. */
  async counter(): Promise<number> {
    if (this.options.counter === 'resource') return Number((await this.node.rpc(this.resource, { type: 'lock_report', from: Number.MAX_SAFE_INTEGER }, resource_timeout_ms)).counter);
    const value = await this.recipe.readCounter();
    await this.node.rpc(this.resource, { type: 'res_counter', value }, resource_timeout_ms).catch(() => {});
    return value;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function makeRecipe(options: LockOptions, context: RecipeContext, zk: ZkSession | null, reconnect?: () => Promise<ZkSession>): Recipe {
  switch (options.recipe) {
    case 'redis':
      return new RedisSetNx(context);
    case 'redis-naive':
      return new RedisNaive(context);
    case 'etcd':
      return new EtcdLock(context, context.planted_bug !== 'no_lease_recheck');
    case 'etcd-no-recheck':
      return new EtcdLock(context, false);
    case 'zk':
      if (!zk) throw new Error('the zk recipe needs a ZooKeeper session');
      return new ZkLock(context, zk, reconnect);
    case 'kazoo':
      return new CommandLock(commandContext(context), kazooCommand(), 'kazoo');
    case 'command':
      if (!options.command) throw new Error('the command recipe needs --contender-cmd');
      return new CommandLock(commandContext(context), options.command);
  }
}

/** A command runs where the contender runs (the user's directory, where `dslab up` ran), with the connect string the supervisor gave the contender. */
function commandContext(context: RecipeContext): CommandContext {
  return { node: context.node, now: context.now, ttl_ms: context.ttl_ms, log: context.log, zk_connect: process.env.DSLAB_ZK_CONNECT || null, cwd: process.cwd() };
}

/** Runs a contender on this process's stdio (the lab's node runs it too, for the contenders group). */
export function runContender(): void {
  const options = readLockOptions(process.env);
  const planted_bug = readLockPlantedBug(process.env);
  const node = new Node();
  let contender: Contender | null = null;
  let starting: Promise<Contender> | null = null;
  node.onInit(() => {
    const init: Record<string, unknown> = node.initBody ?? {};
    const groups = (init.dslab_groups ?? {}) as Record<string, string[]>;
    const servers = Object.values((init.dslab_servers ?? {}) as Record<string, { kind: string; address: string }>);
    const resource = groups.resource?.[0] ?? 'r1';
    const context: RecipeContext = {
      node: node.id,
      now: () => node.now(),
      ttl_ms: options.ttl_ms,
      server_address: servers.find((s) => s.kind === options.backend)?.address ?? null,
      coordinator: groups.coordinator ?? [],
      log: (text) => node.log(text),
      queued: (queued) => contender?.setQueued(queued),
      planted_bug,
    };
    node.reportState({ role: 'contender', lock_state: 'idle', recipe: options.recipe });
    // The zk session is opened on the first request (the coordinator may still be electing at init).
    starting = (async () => {
      const connect = () => connectZk(node, context.coordinator, options.ttl_ms);
      // Only dslab's own zk recipe takes its lock through this node's session; a command has its own client.
      const zk = options.recipe === 'zk' ? await connect() : null;
      const recipe = makeRecipe(options, context, zk, connect);
      // A command still running when the contender exits (end of input at `dslab down`) goes with it.
      if (recipe instanceof CommandLock) process.on('exit', () => recipe.killAll());
      contender = new Contender(node, options, recipe, resource);
      contender.report();
      return contender;
    })();
    starting.catch((error: unknown) => {
      node.log(`cannot start the ${options.recipe} recipe: ${describe(error)}`);
      node.reportState({ last_error: `cannot start the ${options.recipe} recipe: ${describe(error)}` });
    });
  });
  const ready = async (): Promise<Contender> => {
    if (contender) return contender;
    if (!starting) throw new RpcError(error_codes.temporarily_unavailable, 'not initialised');
    try {
      return await starting;
    } catch (error) {
      throw new RpcError(error_codes.temporarily_unavailable, describe(error));
    }
  };
  node.on('lock_run', async (message) => {
    const rounds = message.body.rounds;
    if (!Number.isSafeInteger(rounds) || (rounds as number) < 1 || (rounds as number) > rounds_max) {
      return node.replyError(message, error_codes.malformed_request, `rounds must be an integer from 1 to ${rounds_max}`);
    }
    const c = await ready();
    c.run(rounds as number);
    node.reply(message, { type: 'lock_run_ok', rounds_left: c.rounds_left });
  });
  node.on('lock_stop', async (message) => {
    (await ready()).stop();
    node.reply(message, { type: 'lock_stop_ok' });
  });
  node.on('lock_counter', async (message) => {
    node.reply(message, { type: 'lock_counter_ok', value: await (await ready()).counter() });
  });
  node.on('lock_stats', async (message) => {
    node.reply(message, { type: 'lock_stats_ok', ...(await ready()).timings(message.body.reset === true) });
  });
  node.on('lock_info', async (message) => {
    const c = await ready();
    node.reply(message, { type: 'lock_info_ok', ...(await c.recipe.info()) });
  });
  node.run();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runContender();
