// The sessions the supervisor holds for `dslab zk`: a command that names --session NAME uses (or
// opens) that named session, which stays open after the command, with its ephemerals and watches,
// until `dslab zk session close NAME`, its expiry, or `dslab down`; a command without --session opens
// a session, does its operation and closes it. Each session is a ZkClient whose client id comes from
// the supervisor's registry and whose messages cross the router like any client's.

import { UserError } from '../../lib/util/errors.js';
import type { ZkHost } from './host.js';
import { ZkClient, ZkClientError, type ZkClientState, type ZkTransport, type ZkWatchEvent } from '../../lib/zk/client.js';

/** Named sessions held at once. */
export const named_sessions_max = 100;
/** The session timeout the supervisor asks for (the ensemble clamps it to 2..20 of its ticks). */
export const supervisor_session_timeout_ms = 10_000;
/** Watch events kept per named session until a `zk watch` takes them; older ones are dropped and counted. */
export const session_events_max = 1000;
/** Commands waiting for one session's watch events at once. */
export const session_waiters_max = 16;
/** The longest a lease (a session that closes itself when no command used it for that long) may be. */
export const session_lease_ms_max = 600_000;
export const session_name_chars_max = 64;
const session_name_pattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkSessionName(name: string): string {
  if (name.length > session_name_chars_max || !session_name_pattern.test(name)) {
    throw new UserError(`a session name is letters, digits, '.', '_' and '-', starting with a letter or digit, at most ${session_name_chars_max} characters (got ${JSON.stringify(name)})`);
  }
  return name;
}

interface HeldSession {
  name: string;
  client: ZkClient;
  client_id: string;
  opened_ms: number;
  events: ZkWatchEvent[];
  events_dropped: number;
  waiters: Set<() => void>;
  /** For a leased session: how long it may go unused, and the timer that closes it. */
  lease_ms: number | null;
  cancel_lease: (() => void) | null;
}

export interface HeldSessionInfo {
  name: string;
  session: string;
  client: string;
  server: string | null;
  state: ZkClientState;
  timeout_ms: number;
  /** ms since the session's last reply from a server. */
  idle_ms: number;
  lease_ms: number | null;
}

/** A ZkTransport over the supervisor's client endpoints: requests as `client`, its inbox for unasked messages. */
export function hostTransport(host: ZkHost, client: string): ZkTransport {
  return {
    rpc: (server, body, timeout_ms) => host.request(client, server, body, timeout_ms),
    onUnasked: (handler) => host.onUnasked(client, handler),
    now: () => host.now(),
    after: (ms, run) => host.after(ms, run),
  };
}

/** A ZkClientError as the one line a user sees: ZooKeeper's name first. */
export function userErrorOf(error: unknown): Error {
  if (!(error instanceof ZkClientError)) return error as Error;
  const maybe = error.definite ? '' : ' (it may have been applied)';
  return new UserError(`${error.name_zk}: ${error.message}${maybe}`);
}

export class ZkSessionTable {
  private readonly held = new Map<string, HeldSession>();
  /** Named sessions being opened, so two commands naming the same new session share one. */
  private readonly opening = new Map<string, Promise<HeldSession>>();
  private stopped = false;

  constructor(
    private readonly host: ZkHost,
    private readonly timeout_ms = supervisor_session_timeout_ms,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /**
   * Runs `fn` on the named session (opened if it is not held yet; leased when lease_ms is given), or on
   * a session opened for this call alone and closed after it.
   */
  async withSession<T>(name: string | undefined, fn: (client: ZkClient) => Promise<T>, lease_ms?: number): Promise<T> {
    if (name === undefined) {
      const { client, client_id } = await this.openClient();
      try {
        return await fn(client);
      } catch (error) {
        throw userErrorOf(error);
      } finally {
        await client.close().catch(() => {});
        this.host.releaseClientId(client_id);
      }
    }
    const held = await this.named(name, lease_ms);
    this.touch(held);
    try {
      return await fn(held.client);
    } catch (error) {
      if (held.client.state === 'expired') this.forget(held);
      throw userErrorOf(error);
    } finally {
      this.touch(held);
    }
  }

  /** Closes a named session (its ephemerals go). */
  async close(name: string): Promise<HeldSessionInfo> {
    const held = this.held.get(checkSessionName(name));
    if (!held) throw new UserError(`no session named ${name} is open (open ones: ${[...this.held.keys()].join(', ') || 'none'})`);
    const info = this.describe(held);
    this.forget(held);
    try {
      await held.client.close();
    } catch (error) {
      throw userErrorOf(error);
    }
    return { ...info, state: held.client.state };
  }

  list(): HeldSessionInfo[] {
    return [...this.held.values()].map((h) => this.describe(h));
  }

  /** Watch events the named session got, waiting up to wait_ms for the first when there are none yet. */
  async takeEvents(name: string, wait_ms: number): Promise<{ events: ZkWatchEvent[]; dropped: number; state: ZkClientState }> {
    const held = this.held.get(checkSessionName(name));
    if (!held) throw new UserError(`no session named ${name} is open`);
    if (held.events.length === 0 && held.client.state !== 'expired' && held.client.state !== 'closed') {
      if (held.waiters.size >= session_waiters_max) throw new UserError(`more than ${session_waiters_max} commands are waiting on session ${name}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          cancel();
          held.waiters.delete(done);
          resolve();
        };
        const cancel = this.host.after(wait_ms, done);
        held.waiters.add(done);
      });
    }
    this.touch(held);
    const events = held.events.splice(0);
    const dropped = held.events_dropped;
    held.events_dropped = 0;
    const state = held.client.state;
    if (state === 'expired' || state === 'closed') this.forget(held);
    return { events, dropped, state };
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    const all = [...this.held.values()];
    for (const held of all) this.forget(held);
    await Promise.allSettled(all.map((h) => h.client.close()));
  }

  private async openClient(): Promise<{ client: ZkClient; client_id: string }> {
    if (this.stopped) throw new UserError('the cluster is shutting down');
    if (this.host.servers.length === 0) throw new UserError('the cluster has no servers for zk requests');
    const client_id = this.host.takeClientId();
    try {
      const client = await ZkClient.connect(hostTransport(this.host, client_id), this.host.servers, { timeout_ms: this.timeout_ms });
      return { client, client_id };
    } catch (error) {
      this.host.releaseClientId(client_id);
      throw userErrorOf(error);
    }
  }

  private named(name: string, lease_ms: number | undefined): Promise<HeldSession> {
    checkSessionName(name);
    const held = this.held.get(name);
    if (held) {
      if (held.client.state === 'expired' || held.client.state === 'closed') {
        this.forget(held);
        return Promise.reject(new UserError(`SessionExpired: session ${name} (${held.client.session}) expired; its ephemerals are gone, and the next command that names it opens a new one`));
      }
      return Promise.resolve(held);
    }
    const pending = this.opening.get(name);
    if (pending) return pending;
    if (this.held.size + this.opening.size >= named_sessions_max) {
      return Promise.reject(new UserError(`${named_sessions_max} named sessions are open already (named_sessions_max); close one with: dslab zk session close NAME`));
    }
    if (lease_ms !== undefined && !(Number.isInteger(lease_ms) && lease_ms > 0 && lease_ms <= session_lease_ms_max)) {
      return Promise.reject(new UserError(`a session lease is 1 to ${session_lease_ms_max} ms`));
    }
    const opening = this.openClient().then(({ client, client_id }) => {
      const entry: HeldSession = { name, client, client_id, opened_ms: this.host.now(), events: [], events_dropped: 0, waiters: new Set(), lease_ms: lease_ms ?? null, cancel_lease: null };
      client.on('watch', (event) => {
        if (entry.events.length >= session_events_max) {
          entry.events.shift();
          entry.events_dropped++;
        }
        entry.events.push(event);
        for (const wake of [...entry.waiters]) wake();
      });
      client.on('state', (state) => {
        if (state === 'expired' || state === 'closed') {
          this.host.releaseClientId(client_id);
          for (const wake of [...entry.waiters]) wake();
        }
      });
      this.held.set(name, entry);
      return entry;
    });
    this.opening.set(name, opening);
    void opening.finally(() => this.opening.delete(name)).catch(() => {});
    return opening;
  }

  /** A command used the session: a leased one lives another lease from now. */
  private touch(held: HeldSession): void {
    if (held.lease_ms === null || this.held.get(held.name) !== held) return;
    held.cancel_lease?.();
    held.cancel_lease = this.host.after(held.lease_ms, () => {
      // Nobody used it for a whole lease: the command that leased it is gone.
      if (this.held.get(held.name) !== held) return;
      this.forget(held);
      void held.client.close().catch(() => {});
    });
  }

  private forget(held: HeldSession): void {
    held.cancel_lease?.();
    held.cancel_lease = null;
    if (this.held.get(held.name) === held) this.held.delete(held.name);
    for (const wake of [...held.waiters]) wake();
  }

  private describe(held: HeldSession): HeldSessionInfo {
    return {
      name: held.name,
      session: held.client.session,
      client: held.client_id,
      server: held.client.server,
      state: held.client.state,
      timeout_ms: held.client.timeout_ms,
      idle_ms: Math.max(0, this.host.now() - held.client.last_ok_ms),
      lease_ms: held.lease_ms,
    };
  }
}
