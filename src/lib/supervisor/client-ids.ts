import { assert, UserError } from '../util/errors.js';

/**
 * The one place client ids (the `src` a node sees on a client request) are
 * chosen. Traces, histories and event streams name clients by these ids, so
 * they stay what they were before this registry existed.
 */

/** Clients with one fixed id each. */
export const fixed_client_ids = {
  /** The supervisor's own requests: init, transfer_leadership. */
  supervisor: 'c0',
  /** `dslab send`. */
  send: 'c1',
  /** The grader's echo checks. */
  grader_echo: 'c2',
  /** The grader's fire-and-forget writes to a soon-minority leader. */
  grader_doomed_writes: 'c8',
  /** The grader's Zab writes (zab_write), which must or may succeed. */
  grader_zab_writes: 'c7',
  /** The grader's kv requests straight to one node, without retries. */
  grader_direct_kv: 'c9',
} as const;
export type FixedClient = keyof typeof fixed_client_ids;

/** Clients one workload's load may run at once (the `workload` range). */
export const workload_clients_max = 200;
/** Distinct kv client ids (c1, c2, …) a supervisor keeps sessions for. */
export const kv_clients_max = 1000;
/** The grader's concurrent generate (unique-ids) clients. */
export const generate_clients_max = 100;
/** Long-lived clients of workloads' operations (one per session `dslab zk` holds open). */
export const session_clients_max = 1000;
/** `dslab test`'s clients over one run: each client, and each one replacing a client whose operation was indeterminate (as Jepsen replaces the process); past this the ids come round again. */
export const test_clients_max = 10_000;

/**
 * Clients numbered within a range: `workload` are the load's clients (c1…),
 * `generator` the grader's unique-ids clients (c100…), `pool` the anonymous kv
 * clients `dslab kv` borrows when it names none (c1001…), `session` the
 * long-lived clients of workloads' operations, such as `dslab zk`'s sessions (c2001…), `test` the
 * clients of `dslab test` (c3001…). Ranges may overlap
 * fixed ids (c1 is both `send` and the first load client), as they always have:
 * msg_ids are unique per supervisor, so replies never go to the wrong request.
 */
const client_ranges = {
  workload: { first: 1, count: workload_clients_max },
  generator: { first: 100, count: generate_clients_max },
  pool: { first: 1 + kv_clients_max, count: kv_clients_max },
  session: { first: 1 + 2 * kv_clients_max, count: session_clients_max },
  test: { first: 1 + 2 * kv_clients_max + session_clients_max, count: test_clients_max },
} as const;
export type ClientRange = keyof typeof client_ranges;

export function fixedClientId(client: FixedClient): string {
  return fixed_client_ids[client];
}

/** The id of the client numbered `index` (from 0) in `range`. */
export function rangeClientId(range: ClientRange, index: number): string {
  const { first, count } = client_ranges[range];
  assert(Number.isInteger(index) && index >= 0 && index < count, `client ${index} is outside the ${range} range (0 to ${count - 1})`);
  return `c${first + index}`;
}

/** Client ids known to the supervisor at once: every fixed id and range, with room for clients a user names. */
export const known_clients_max = Object.keys(fixed_client_ids).length + workload_clients_max + generate_clients_max + 2 * kv_clients_max + session_clients_max + test_clients_max;

/**
 * Hands out the session range's ids: the lowest free one, so a
 * released id (its session closed) is used again rather than the range
 * running out.
 */
export class SessionClientIds {
  private readonly in_use = new Set<number>();

  take(): string {
    for (let index = 0; index < session_clients_max; index++) {
      if (this.in_use.has(index)) continue;
      this.in_use.add(index);
      return rangeClientId('session', index);
    }
    throw new UserError(`too many sessions open at once (at most ${session_clients_max})`);
  }

  release(id: string): void {
    const index = Number(id.slice(1)) - client_ranges.session.first;
    this.in_use.delete(index);
  }

  get size(): number {
    return this.in_use.size;
  }
}

/**
 * Every client id the supervisor has sent a request as. A node may forward a
 * request to another node under a known client's id (as in Maelstrom).
 */
export class KnownClients {
  private readonly ids = new Set<string>();

  /** Records that a request is going out as `id`. */
  use(id: string): void {
    if (this.ids.has(id)) return;
    if (this.ids.size >= known_clients_max) throw new UserError(`too many client ids in use (at most ${known_clients_max})`);
    this.ids.add(id);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
