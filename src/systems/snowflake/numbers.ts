// Where a worker's number comes from: a coordinator session's znodes, or its position. It issues no
// ids: the host asks it which number it holds and whether it may still serve.

/**
 * Where a worker's (datacenter, worker) number comes from.
 *
 * From the coordinator: the lowest free number of its datacenter, held as an
 * ephemeral znode of the worker's session (/snowflake/dc<D>/workers/<N>, data
 * the node id), so it is free again once the session expires. The worker may
 * serve only while its session's last successful reply is younger than the
 * session timeout less a margin: the coordinator expires a session only after
 * a whole timeout of silence, so by then this worker has stopped issuing with
 * the number another worker may now take. The latest time each number issued
 * is recorded beside it (/snowflake/dc<D>/latest/<N>), so a later holder never
 * issues at or before it.
 *
 * Static: the number is the worker's position (under Maelstrom, or with
 * `--worker-numbers static`): w1 is datacenter 0 worker 0, w2 datacenter 1
 * worker 0, and so on round the datacenters.
 */

/** The part of the shared ZooKeeper client (src/lib/zk/client.ts) a worker uses: one session. */
export interface CoordinatorSession {
  readonly session: string;
  readonly timeout_ms: number;
  /** When the session last had a successful reply, on the clock its transport was given. */
  readonly last_ok_ms: number;
  readonly state: 'connected' | 'reconnecting' | 'expired' | 'closed';
  create(path: string, data?: string, flags?: { ephemeral?: boolean; sequential?: boolean }): Promise<{ path: string }>;
  getChildren(path: string): Promise<string[]>;
  getData(path: string): Promise<{ data: string }>;
  setData(path: string, data: string): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'state', handler: (state: CoordinatorSession['state']) => void): () => void;
}

export interface Holding {
  datacenter: number;
  worker: number;
  /** The latest time an earlier holder of the number recorded, ms since 1970; null if none did. */
  floor_ms: number | null;
}

export interface WorkerNumbers {
  /** The number held now, or null. */
  readonly holding: Holding | null;
  /** The session's state for reports ("static" when there is no coordinator). */
  readonly session_state: string;
  /** Why the worker may not issue ids at mono_ms (its monotonic clock), or null when it may. */
  unavailable(mono_ms: number): string | null;
  /** Records the latest time issued (the coordinator keeps it for later holders). */
  record(latest_ms: number): void;
  /** Called whenever the holding changes (taken, lost, taken again). */
  onChange(handler: () => void): void;
  start(): void;
  stop(): void;
}

/** Serve only while the last reply is younger than this share of the session timeout: one missed ping (every third) is tolerated, two are not. */
export const lease_share_of_timeout = 2 / 3;
/** Wait between attempts to connect or take a number. */
export const acquire_retry_ms = 500;
/** Attempts to create the lowest free number before looking at the children again (another worker took it first). */
export const create_attempts_max = 5;

export const snowflake_root = '/snowflake';
export function datacenterPath(datacenter: number): string {
  return `${snowflake_root}/dc${datacenter}`;
}
export function holderPath(datacenter: number, worker: number): string {
  return `${datacenterPath(datacenter)}/workers/${worker}`;
}
export function latestPath(datacenter: number, worker: number): string {
  return `${datacenterPath(datacenter)}/latest/${worker}`;
}

/** The ZooKeeper error name of a client error, if it is one. */
function zkErrorName(error: unknown): string | undefined {
  const name = (error as { name_zk?: unknown } | null)?.name_zk;
  return typeof name === 'string' ? name : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class StaticNumbers implements WorkerNumbers {
  readonly session_state = 'static';
  readonly holding: Holding | null;
  private readonly problem: string | null;

  constructor(position: number, datacenters: number, worker_bits: number) {
    const worker = Math.floor(position / datacenters);
    this.problem = worker >= 2 ** worker_bits ? `worker number ${worker} (position ${position + 1} over ${datacenters} datacenters) does not fit ${worker_bits} bits` : null;
    this.holding = this.problem ? null : { datacenter: position % datacenters, worker, floor_ms: null };
  }

  unavailable(): string | null {
    return this.problem;
  }

  record(): void {}
  onChange(): void {}
  start(): void {}
  stop(): void {}
}

export interface CoordinatorDeps {
  /** Opens a new session with the coordinator (ZkClient.connect over the node's transport). */
  connect(): Promise<CoordinatorSession>;
  /** The monotonic clock the session's last_ok_ms is read on. */
  mono(): number;
  after(ms: number, run: () => void): () => void;
  log(text: string): void;
}

export class CoordinatorNumbers implements WorkerNumbers {
  holding: Holding | null = null;
  private session: CoordinatorSession | null = null;
  private unsubscribe: () => void = () => {};
  private phase: 'connecting' | 'taking' | 'holding' | 'stopped' = 'connecting';
  private last_problem: string | null = null;
  private readonly handlers: (() => void)[] = [];
  private recorded_ms = 0;
  private recording = false;
  private cancelRetry: () => void = () => {};

  constructor(
    private readonly deps: CoordinatorDeps,
    private readonly config: { node_id: string; datacenter: number; worker_bits: number; test_planted_bug?: 'worker_unchecked' | 'serve_past_lease' },
  ) {}

  get session_state(): string {
    if (this.phase === 'stopped') return 'closed';
    if (!this.session) return 'connecting';
    return this.session.state;
  }

  onChange(handler: () => void): void {
    this.handlers.push(handler);
  }

  start(): void {
    void this.acquire();
  }

  stop(): void {
    this.phase = 'stopped';
    this.cancelRetry();
    this.unsubscribe();
    void this.session?.close().catch(() => undefined);
  }

  unavailable(mono_ms: number): string | null {
    const session = this.session;
    if (this.holding && this.config.test_planted_bug === 'serve_past_lease') {
      // The planted bug: a number once taken is used until another replaces it, session or none.
      if (!session || session.state === 'expired' || session.state === 'closed') return null;
    }
    if (!this.holding || !session) return this.last_problem ?? 'no worker number yet: taking one from the coordinator';
    if (session.state !== 'connected' && session.state !== 'reconnecting') return `the coordinator session is ${session.state}`;
    // The planted bug: the number is trusted however long the coordinator has been silent.
    if (this.config.test_planted_bug === 'serve_past_lease') return null;
    const age_ms = mono_ms - session.last_ok_ms;
    const lease_ms = session.timeout_ms * lease_share_of_timeout;
    if (age_ms >= lease_ms) return `no reply from the coordinator for ${Math.round(age_ms)} ms (a worker stops at ${Math.round(lease_ms)} ms, before its ${session.timeout_ms} ms session could expire)`;
    return null;
  }

  record(latest_ms: number): void {
    const holding = this.holding;
    const session = this.session;
    if (!holding || !session || this.recording || latest_ms <= this.recorded_ms) return;
    this.recording = true;
    const path = latestPath(holding.datacenter, holding.worker);
    const data = String(latest_ms);
    session
      .setData(path, data)
      .catch((error: unknown) => {
        if (zkErrorName(error) === 'NoNode') return session.create(path, data);
        throw error;
      })
      .then(
        () => (this.recorded_ms = Math.max(this.recorded_ms, latest_ms)),
        (error: unknown) => this.deps.log(`could not record the latest timestamp: ${message(error)}`),
      )
      .finally(() => (this.recording = false));
  }

  /** A method, not a field read, so the check after an await is not narrowed away. */
  private isStopped(): boolean {
    return this.phase === 'stopped';
  }

  private changed(): void {
    for (const handler of this.handlers) handler();
  }

  private async acquire(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'connecting';
    let session: CoordinatorSession | null = null;
    try {
      session = await this.deps.connect();
      if (this.isStopped()) {
        await session.close().catch(() => undefined);
        return;
      }
      this.session = session;
      this.unsubscribe = session.on('state', (state) => {
        if ((state === 'expired' || state === 'closed') && this.session === session) this.lost(`the coordinator session ${session!.session} ${state}`);
        else this.changed();
      });
      this.phase = 'taking';
      this.changed();
      const { datacenter } = this.config;
      for (const path of [snowflake_root, datacenterPath(datacenter), `${datacenterPath(datacenter)}/workers`, `${datacenterPath(datacenter)}/latest`]) await ensure(session, path);
      const worker = await this.takeLowestFree(session);
      const floor_ms = await readLatest(session, latestPath(datacenter, worker));
      if (this.session !== session) return;
      this.holding = { datacenter, worker, floor_ms };
      this.recorded_ms = floor_ms ?? 0;
      this.last_problem = null;
      this.phase = 'holding';
      this.deps.log(`holding datacenter ${datacenter} worker ${worker} in session ${session.session}${floor_ms !== null ? `; its latest recorded time is ${new Date(floor_ms).toISOString()}` : ''}`);
      this.changed();
    } catch (error) {
      this.last_problem = `no worker number: ${message(error)}`;
      this.deps.log(this.last_problem);
      if (session && this.session === session) {
        this.unsubscribe();
        this.session = null;
        await session.close().catch(() => undefined);
      }
      this.changed();
      this.retry();
    }
  }

  private retry(): void {
    if (this.phase === 'stopped') return;
    this.cancelRetry();
    this.cancelRetry = this.deps.after(acquire_retry_ms, () => void this.acquire());
  }

  private lost(why: string): void {
    this.deps.log(`${why}: giving up worker ${this.holding?.worker ?? '(none)'}; taking a number again`);
    this.unsubscribe();
    this.session = null;
    // The planted bug serve_past_lease keeps the number it lost until it takes another.
    if (this.config.test_planted_bug !== 'serve_past_lease') this.holding = null;
    this.last_problem = `${why}; taking a number again`;
    this.changed();
    this.retry();
  }

  private async takeLowestFree(session: CoordinatorSession): Promise<number> {
    const { datacenter, worker_bits, node_id } = this.config;
    const numbers_max = 2 ** worker_bits;
    for (let attempt = 0; attempt < create_attempts_max; attempt++) {
      const taken = new Set((await session.getChildren(`${datacenterPath(datacenter)}/workers`)).map(Number));
      let worker = 0;
      while (taken.has(worker)) worker++;
      if (worker >= numbers_max && this.config.test_planted_bug !== 'worker_unchecked') throw new Error(`all ${numbers_max} worker numbers of datacenter ${datacenter} are held`);
      try {
        await session.create(holderPath(datacenter, worker), node_id, { ephemeral: true });
        return worker;
      } catch (error) {
        // Another worker took it between the read and the create: look again.
        if (zkErrorName(error) !== 'NodeExists') throw error;
      }
    }
    throw new Error(`other workers took each free number first ${create_attempts_max} times`);
  }
}

async function ensure(session: CoordinatorSession, path: string): Promise<void> {
  try {
    await session.create(path, '');
  } catch (error) {
    if (zkErrorName(error) !== 'NodeExists') throw error;
  }
}

async function readLatest(session: CoordinatorSession, path: string): Promise<number | null> {
  try {
    const { data } = await session.getData(path);
    const ms = Number(data);
    return Number.isSafeInteger(ms) && ms > 0 ? ms : null;
  } catch (error) {
    if (zkErrorName(error) === 'NoNode') return null;
    throw error;
  }
}
