import { request as httpRequest } from 'node:http';
import { type ClusterInfo, isProcessAlive } from '../cluster/paths.js';
import { UserError } from '../util/errors.js';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from './api.js';

export const control_request_timeout_ms = 120_000;

/** Events an `actAndFollow` holds back while its action is answered; beyond this the oldest are dropped (and counted in a notice). */
export const held_events_max = 10_000;

export interface FollowOptions {
  /** Replay the supervisor's recent history first. */
  history?: boolean;
  /** Event types the supervisor should not send at all. */
  exclude?: ClusterEvent['type'][];
  /** Merge each node's progress-only state reports to at most one per this many ms (elections and leader changes still arrive at once). */
  coalesce_state_ms?: number;
}

export interface Follower {
  stop(): void;
  /** Resolves once the supervisor has subscribed this stream: every event emitted from then on arrives. */
  ready: Promise<void>;
  /** Resolves when the stream ends (the cluster went down, `onEvent` returned false, or stop). */
  ended: Promise<void>;
}

/** A typed client for one cluster's control API; every command goes through it. */
export class ControlClient {
  /** Streams still open; `close` ends them, so nothing keeps the process alive after a command gave up. */
  private readonly followers = new Set<Follower>();

  constructor(readonly cluster: ClusterInfo) {}

  status(): Promise<ClusterStatus> {
    return this.call<ClusterStatus>('GET', '/v1/status');
  }

  act(action: ControlAction): Promise<ActionResult> {
    return this.call<ActionResult>('POST', '/v1/action', action);
  }

  /**
   * Follows the event stream until `onEvent` returns false, the cluster goes
   * down, or the returned stop function is called.
   */
  follow(onEvent: (event: ClusterEvent) => boolean | void, options: FollowOptions = {}): Follower {
    const query = [
      options.history ? 'history=1' : '',
      options.exclude?.length ? `exclude=${options.exclude.join(',')}` : '',
      options.coalesce_state_ms ? `coalesce_state_ms=${options.coalesce_state_ms}` : '',
    ]
      .filter(Boolean)
      .join('&');
    let stopRequest = () => {};
    let markReady = () => {};
    let failReady = (_error: Error) => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    const ended = new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        this.followers.delete(follower);
        if (error) {
          failReady(error);
          reject(error);
        } else {
          markReady();
          resolve();
        }
      };
      const req = httpRequest(
        { socketPath: this.cluster.socket, method: 'GET', path: `/v1/events${query ? `?${query}` : ''}` },
        (res) => {
          res.setEncoding('utf8');
          if (res.statusCode !== 200) {
            // A refused request answers with one JSON error, not a stream.
            let text = '';
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              let message = `the supervisor refused the event stream (HTTP ${res.statusCode})`;
              try {
                message = (JSON.parse(text) as { error?: string }).error ?? message;
              } catch {
                // keep the status line
              }
              finish(new UserError(message));
            });
            return;
          }
          markReady();
          let partial = '';
          res.on('data', (chunk: string) => {
            const lines = (partial + chunk).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) {
              if (!line) continue;
              if (onEvent(JSON.parse(line) as ClusterEvent) === false) {
                stopRequest();
                return;
              }
            }
          });
          res.on('end', () => finish());
          res.on('close', () => finish());
        },
      );
      req.on('error', (error) => finish(this.connectionError(error)));
      req.end();
      stopRequest = () => {
        req.destroy();
        finish();
      };
    });
    // Callers may await only one of the two; the other must not count as an unhandled rejection.
    ready.catch(() => {});
    ended.catch(() => {});
    const follower: Follower = { stop: () => stopRequest(), ready, ended };
    this.followers.add(follower);
    return follower;
  }

  /**
   * Sends an action once an event stream is subscribed, so no event the action
   * causes is missed. Events that arrive before the action is answered are held
   * and passed to `onEvent` after this resolves, so a caller can print the
   * result first. If the action is refused, the stream is closed and the
   * refusal thrown: nothing is left open to keep the process waiting.
   */
  async actAndFollow(
    action: ControlAction,
    onEvent: (event: ClusterEvent) => boolean | void,
    options: FollowOptions = {},
  ): Promise<{ result: ActionResult; follower: Follower }> {
    let held: ClusterEvent[] | null = [];
    let dropped = 0;
    let stopped = false;
    const deliver = (event: ClusterEvent): boolean => {
      if (stopped) return false;
      if (onEvent(event) === false) stopped = true;
      return !stopped;
    };
    const follower = this.follow((event) => {
      if (held === null) return deliver(event);
      if (held.length >= held_events_max) {
        held.shift();
        dropped++;
      }
      held.push(event);
      return true;
    }, options);
    try {
      await this.bounded(follower.ready);
      const result = await this.act(action);
      // Handed over on the next turn, after the caller has seen the result; the stream counts as ended only after that.
      const handedOver = new Promise<void>((resolve) =>
        setImmediate(() => {
          const events = held ?? [];
          held = null;
          if (dropped > 0) deliver({ t: Date.now(), seq: 0, type: 'notice', text: `${dropped} events were dropped while the request was answered` });
          for (const event of events) if (!deliver(event)) break;
          if (stopped) follower.stop();
          resolve();
        }),
      );
      const ended = Promise.all([follower.ended, handedOver]).then(() => undefined);
      ended.catch(() => {});
      return { result, follower: { ...follower, ended } };
    } catch (error) {
      follower.stop();
      throw error;
    }
  }

  /** `promise`, or the supervisor-did-not-answer error after control_request_timeout_ms. */
  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.connectionError(new Error('timeout'))), control_request_timeout_ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Ends every event stream this client opened. */
  close(): void {
    for (const follower of [...this.followers]) follower.stop();
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.cluster.socket,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
          timeout: control_request_timeout_ms,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let parsed: { ok: boolean; result?: T; error?: string };
            try {
              parsed = JSON.parse(text) as typeof parsed;
            } catch {
              return reject(new UserError(`the supervisor of "${this.cluster.name}" sent an unreadable answer`));
            }
            if (parsed.ok) resolve(parsed.result as T);
            else reject(new UserError(parsed.error ?? 'the supervisor refused the request'));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => reject(this.connectionError(error)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  private connectionError(error: Error): UserError {
    if (error.message === 'timeout') return new UserError(`the supervisor of "${this.cluster.name}" did not answer within ${control_request_timeout_ms / 1000}s`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return new UserError(`permission denied on ${this.cluster.socket}: only the user who started "${this.cluster.name}" can control it`);
    if (!isProcessAlive(this.cluster.supervisor_pid) || code === 'ECONNREFUSED' || code === 'ENOENT') {
      return new UserError(`cluster "${this.cluster.name}" is not running (its supervisor is gone)`);
    }
    return new UserError(`cannot reach the supervisor of "${this.cluster.name}": ${error.message}`);
  }
}
