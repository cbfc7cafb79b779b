/**
 * The shared resource of a locks cluster (r1): the counter contenders
 * increment under the lock (`--counter resource`), with fencing when asked
 * (`--fencing`: a write is accepted only with a token greater than every token
 * accepted before). It records every read and write it sees, with its own
 * clock, for the checker; with `--counter backend` the contenders tell it what
 * they did to the backend's counter (notes), so the record is the same.
 */
import { pathToFileURL } from 'node:url';
import { error_codes, type Envelope } from '../../lib/protocol/messages.js';
import { Node } from '../../lib/runtime/node.js';
import { type Observation, observations_max, report_page_max } from '../../workloads/locks/observations.js';
import { readLockOptions, readLockPlantedBug } from './options.js';

export class Resource {
  counter = 0;
  /** The largest token of an accepted write. */
  max_token: number | null = null;
  /** The largest token of any accepted read or write. */
  max_seen: number | null = null;
  /** The counter as a contender last read it from the backend (backend mode). */
  backend_counter: number | null = null;
  readonly observations: Observation[] = [];
  dropped = 0;
  accepted = 0;
  rejected = 0;

  constructor(
    readonly fencing: boolean,
    readonly counter_place: 'resource' | 'backend',
    /** A lab variant's planted bug: accept_equal_token lets a write through with the largest token already accepted. */
    private readonly planted_bug: string | null = null,
  ) {}

  private record(observation: Observation): void {
    if (this.observations.length < observations_max) this.observations.push(observation);
    else this.dropped++;
  }

  /**
   * A read: the counter, or why it was refused. Under fencing a read carries
   * its token too and is refused once a newer token came (reads or writes):
   * a read-modify-write whose read predates a newer holder's would otherwise
   * pass the write check with an older token than nobody wrote yet.
   */
  read(node: string, fields: SectionFields, at_ms: number): { value: number } | { refused: string } {
    const reason = this.fencing ? this.staleness(fields.token, false) : null;
    this.record({ kind: 'read', node, ...fields, at_ms, value: this.counter, ...(reason ? { accepted: false, reason } : {}) });
    if (reason) return { refused: reason };
    if (fields.token !== null) this.max_seen = this.max_seen === null ? fields.token : Math.max(this.max_seen, fields.token);
    return { value: this.counter };
  }

  /** A write: null when accepted, else why it was refused (a stale or missing token under fencing). */
  write(node: string, fields: SectionFields, value: number, at_ms: number): string | null {
    const { token } = fields;
    const reason = this.fencing ? this.staleness(token, true) : null;
    this.record({ kind: 'write', node, ...fields, at_ms, value, accepted: reason === null, before: this.counter, ...(reason ? { reason } : {}) });
    if (reason) {
      this.rejected++;
      return reason;
    }
    this.accepted++;
    this.counter = value;
    if (token !== null) {
      this.max_token = this.max_token === null ? token : Math.max(this.max_token, token);
      this.max_seen = this.max_seen === null ? token : Math.max(this.max_seen, token);
    }
    return null;
  }

  /**
   * Why a token is stale, or null. A write must carry a token greater than
   * every token accepted in a write (an equal one is a second write of one
   * grant) and not below one a read already brought; a read must not be below
   * any token seen.
   */
  private staleness(token: number | null, write: boolean): string | null {
    if (token === null) return 'no fencing token';
    const equal_passes = this.planted_bug === 'accept_equal_token' && token === this.max_token;
    if (write && this.max_token !== null && token <= this.max_token && !equal_passes) return `stale token ${token}: a write with token ${this.max_token} was already accepted`;
    if (this.max_seen !== null && token < this.max_seen) return `stale token ${token}: token ${this.max_seen} already came`;
    return null;
  }

  /** What a contender did to the backend's counter (backend mode): recorded as if it had happened here. */
  note(node: string, fields: SectionFields, kind: 'read' | 'write', value: number, ok: boolean, at_ms: number): void {
    this.record({ kind, node, ...fields, at_ms, value, ...(kind === 'write' ? { accepted: ok } : {}) });
    if (kind === 'write' && ok) this.accepted++;
    if (kind === 'write' && ok && fields.token !== null) this.max_token = this.max_token === null ? fields.token : Math.max(this.max_token, fields.token);
  }

  report(from: number): Record<string, unknown> {
    const page = this.observations.slice(from, from + report_page_max);
    const next = from + page.length < this.observations.length ? from + page.length : null;
    return {
      counter_place: this.counter_place,
      fencing: this.fencing,
      counter: this.counter_place === 'resource' ? this.counter : this.backend_counter,
      max_token: this.max_token,
      observations: page,
      dropped: this.dropped,
      total: this.observations.length,
      next,
    };
  }
}

export interface SectionFields {
  round: number;
  /** Which run of the contender's process (a restarted contender counts its rounds from 1 again). */
  incarnation?: string;
  token: number | null;
  acquired_ms: number;
  ttl_ms: number;
}

/** The section fields of a request, or a reason they are malformed. */
export function sectionFields(body: Record<string, unknown>): SectionFields | string {
  const { round, token, acquired_ms, ttl_ms, incarnation } = body;
  if (!Number.isSafeInteger(round)) return 'round must be an integer';
  if (token !== undefined && token !== null && !Number.isSafeInteger(token)) return 'token must be an integer or null';
  if (typeof acquired_ms !== 'number' || typeof ttl_ms !== 'number') return 'acquired_ms and ttl_ms must be numbers';
  if (incarnation !== undefined && typeof incarnation !== 'string') return 'incarnation must be a string';
  return { round: round as number, ...(incarnation !== undefined ? { incarnation } : {}), token: (token as number | null | undefined) ?? null, acquired_ms, ttl_ms };
}

/** Runs the resource on this process's stdio (the lab's node runs it too, for the resource group). */
export function runResource(): void {
  const options = readLockOptions(process.env);
  const resource = new Resource(options.fencing, options.counter, readLockPlantedBug(process.env));
  const node = new Node();
  const report = () =>
    node.reportState({ role: 'resource', counter: resource.counter_place === 'resource' ? resource.counter : resource.backend_counter, max_token: resource.max_token, accepted: resource.accepted, rejected: resource.rejected });
  node.onInit(report);
  const withFields = (message: Envelope, run: (fields: SectionFields) => void) => {
    const fields = sectionFields(message.body);
    if (typeof fields === 'string') return node.replyError(message, error_codes.malformed_request, fields);
    run(fields);
    report();
  };
  node.on('res_read', (message) =>
    withFields(message, (fields) => {
      const result = resource.read(message.src, fields, node.now());
      if ('refused' in result) node.replyError(message, error_codes.precondition_failed, result.refused);
      else node.reply(message, { type: 'res_read_ok', value: result.value });
    }),
  );
  node.on('res_write', (message) =>
    withFields(message, (fields) => {
      const value = message.body.value;
      if (!Number.isSafeInteger(value)) return node.replyError(message, error_codes.malformed_request, 'value must be an integer');
      const refused = resource.write(message.src, fields, value as number, node.now());
      if (refused) node.replyError(message, error_codes.precondition_failed, refused);
      else node.reply(message, { type: 'res_write_ok' });
    }),
  );
  node.on('res_note', (message) =>
    withFields(message, (fields) => {
      const { kind, value, ok } = message.body;
      if ((kind !== 'read' && kind !== 'write') || !Number.isSafeInteger(value)) return node.replyError(message, error_codes.malformed_request, 'a note needs kind read or write and an integer value');
      resource.note(message.src, fields, kind, value as number, ok !== false, node.now());
      node.reply(message, { type: 'res_note_ok' });
    }),
  );
  // In backend mode a contender reads the backend's counter for `dslab lock status` and says what it saw.
  node.on('res_counter', (message) => {
    if (Number.isSafeInteger(message.body.value)) resource.backend_counter = message.body.value as number;
    report();
    node.reply(message, { type: 'res_counter_ok' });
  });
  node.on('lock_report', (message) => {
    const from = Number.isSafeInteger(message.body.from) && (message.body.from as number) >= 0 ? (message.body.from as number) : 0;
    node.reply(message, { type: 'lock_report_ok', ...resource.report(from) });
  });
  node.run();
}

// Run as a node program; imported (by the tests), it only provides the Resource.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runResource();
