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
/** ZooKeeper wire connections (a TCP client of a Zab server's client port) over one run; past this the ids come round again, skipping those still open. */
export const zk_wire_clients_max = 10_000;

/**
 * Clients numbered within a range: `workload` are the load's clients (c1…),
 * `generator` the grader's unique-ids clients (c100…), `pool` the anonymous kv
 * clients `dslab kv` borrows when it names none (c1001…), `session` the
 * long-lived clients of workloads' operations, such as `dslab zk`'s sessions (c2001…), `test` the
 * clients of `dslab test` (c3001…), `zk_wire` the ZooKeeper wire connections accepted on the Zab
 * servers' client ports (c13001…). Ranges may overlap
 * fixed ids (c1 is both `send` and the first load client), as they always have:
 * msg_ids are unique per supervisor, so replies never go to the wrong request.
 */
const client_ranges = {
  workload: { first: 1, count: workload_clients_max },
  generator: { first: 100, count: generate_clients_max },
  pool: { first: 1 + kv_clients_max, count: kv_clients_max },
  session: { first: 1 + 2 * kv_clients_max, count: session_clients_max },
  test: { first: 1 + 2 * kv_clients_max + session_clients_max, count: test_clients_max },
  zk_wire: { first: 1 + 2 * kv_clients_max + session_clients_max + test_clients_max, count: zk_wire_clients_max },
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
export const known_clients_max = Object.keys(fixed_client_ids).length + workload_clients_max + generate_clients_max + 2 * kv_clients_max + session_clients_max + test_clients_max + zk_wire_clients_max;

/**
 * Hands out one range's ids to clients that come and go, none twice at once.
 * `lowest_free` takes the lowest free id, so a released one is used again at
 * once; `round_robin` takes the next free one after the last taken, so an id
 * comes back only after the whole range (a message still on its way to a
 * closed client then reaches no new one).
 */
export class RangeClientIds {
  private readonly in_use = new Set<number>();
  /** Where the next search starts (round_robin). */
  private next = 0;

  constructor(
    private readonly range: ClientRange,
    private readonly reuse: 'lowest_free' | 'round_robin',
    /** What the clients are, for the error when every id is taken ("sessions open"). */
    private readonly what: string,
  ) {}

  take(): string {
    const { count } = client_ranges[this.range];
    const start = this.reuse === 'lowest_free' ? 0 : this.next;
    for (let step = 0; step < count; step++) {
      const index = (start + step) % count;
      if (this.in_use.has(index)) continue;
      this.in_use.add(index);
      this.next = (index + 1) % count;
      return rangeClientId(this.range, index);
    }
    throw new UserError(`too many ${this.what} at once (at most ${count})`);
  }

  release(id: string): void {
    this.in_use.delete(Number(id.slice(1)) - client_ranges[this.range].first);
  }

  get size(): number {
    return this.in_use.size;
  }
}

/** The session range's ids, the lowest free one first. */
export class SessionClientIds extends RangeClientIds {
  constructor() {
    super('session', 'lowest_free', 'sessions open');
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
