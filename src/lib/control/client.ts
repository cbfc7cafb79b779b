import { request as httpRequest } from 'node:http';
import { type ClusterInfo, isProcessAlive } from '../cluster/paths.js';
import { UserError } from '../util/errors.js';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from './api.js';

export const control_request_timeout_ms = 120_000;

export interface FollowOptions {
  /** Replay the supervisor's recent history first. */
  history?: boolean;
  /** Event types the supervisor should not send at all. */
  exclude?: ClusterEvent['type'][];
  /** Merge each node's progress-only state reports to at most one per this many ms (elections and leader changes still arrive at once). */
  coalesce_state_ms?: number;
}

/** A typed client for one cluster's control API; every command goes through it. */
export class ControlClient {
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
  follow(onEvent: (event: ClusterEvent) => boolean | void, options: FollowOptions = {}): { stop(): void; ended: Promise<void> } {
    const query = [
      options.history ? 'history=1' : '',
      options.exclude?.length ? `exclude=${options.exclude.join(',')}` : '',
      options.coalesce_state_ms ? `coalesce_state_ms=${options.coalesce_state_ms}` : '',
    ]
      .filter(Boolean)
      .join('&');
    let stopRequest = () => {};
    const ended = new Promise<void>((resolve, reject) => {
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
              reject(new UserError(message));
            });
            return;
          }
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
          res.on('end', () => resolve());
          res.on('close', () => resolve());
        },
      );
      req.on('error', (error) => reject(this.connectionError(error)));
      req.end();
      stopRequest = () => {
        req.destroy();
        resolve();
      };
    });
    return { stop: () => stopRequest(), ended };
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
