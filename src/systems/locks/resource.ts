// The shared resource's node program (r1): the counter, fencing, and the record of every critical
// section it saw. It grants no lock: it counts, fences when asked, records and reports.

/**
 * The shared resource of a locks cluster (r1): the counter contenders
 * increment under the lock (`--counter resource`), with fencing when asked
 * (`--fencing`: a write is accepted only with a token greater than every token
 * accepted before). It records every read and write it sees, with its own
 * clock, for the checker; with `--counter backend` the contenders tell it what
 * they did to the backend's counter (notes), so the record is the same.
 * The record is kept on disk (ResourceStore) before any answer goes out, so a
 * restarted r1 still refuses the tokens it refused before.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { error_codes, type Envelope } from '../../lib/protocol/messages.js';
import { Node } from '../../lib/runtime/node.js';
import { existsSync, readFileSync } from 'node:fs';
import { Wal, writeFileAtomic } from '../../lib/storage/wal.js';
import { LiveLockCheck } from './live-check.js';
import { type LockReport, type Observation, observations_max, report_page_max } from './observations.js';
import { type LockBackend, readLockOptions, readLockPlantedBug } from './options.js';

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
  /** The lock check as the observations arrive (the dashboard shows it, and names each violation as it is seen). */
  readonly live: LiveLockCheck;

  constructor(
    readonly fencing: boolean,
    readonly counter_place: 'resource' | 'backend',
    /** Where the record is kept across restarts; absent, it lives in memory only (tests). */
    private readonly store: ResourceStore | null = null,
    /** A lab variant's planted bug: accept_equal_token lets a write through with the largest token already accepted. */
    private readonly planted_bug: string | null = null,
    /** Observations kept; past this they are counted as dropped. */
    private readonly kept_max = observations_max,
    /** The backend the contenders lock in: what a grant's ttl_ms means in a violation's words. */
    lock_backend?: LockBackend,
  ) {
    this.live = new LiveLockCheck(fencing, counter_place, lock_backend);
    if (store) for (const record of store.records) this.replay(record);
  }

  /**
   * Keeps an observation and applies what it changes: on disk first (fsync),
   * so an answer never tells a contender of a read or write a restarted
   * resource would forget. A forgotten read is as bad as a forgotten write:
   * the token it brought is what refuses an older holder's write.
   */
  private commit(observation: Observation): void {
    const kept = this.observations.length < this.kept_max;
    this.apply(observation, kept);
    this.store?.append(kept ? { observation } : { state: this.state() });
    if (this.store?.needsCompaction()) this.store.compact(this.observations, this.state());
  }

  /** What an observation changes; the same for one seen now and one read back from the log. */
  private apply(o: Observation, kept: boolean): void {
    if (kept) this.observations.push(o);
    else this.dropped++;
    this.live.observe(o);
    if (this.counter_place === 'backend' && this.live.counter !== null) this.backend_counter = this.live.counter;
    const bump = (current: number | null) => (o.token === null ? current : current === null ? o.token : Math.max(current, o.token));
    if (o.kind === 'read') {
      if (o.accepted !== false) this.max_seen = bump(this.max_seen);
      return;
    }
    // A write here carries the counter before it; a note of a write to the backend's counter does not.
    const note = o.before === undefined;
    if (o.accepted === false) {
      if (!note) this.rejected++;
      return;
    }
    this.accepted++;
    this.max_token = bump(this.max_token);
    if (note) return;
    this.counter = o.value;
    this.max_seen = bump(this.max_seen);
  }

  /** A resource rebuilt from another process's record (a stopped cluster's r1), for reading only. */
  static fromRecord(settings: ResourceSettings, records: readonly ResourceRecord[]): Resource {
    const resource = new Resource(settings.fencing, settings.counter_place, null, null, observations_max, settings.lock_backend);
    for (const record of records) resource.replay(record);
    return resource;
  }

  /** Everything it observed, as one lock_report would say it with every page joined. */
  fullReport(lock_backend: LockBackend | undefined): LockReport {
    return { ...this.reportHead(), observations: [...this.observations], next: null, ...(lock_backend ? { lock_backend } : {}) };
  }

  private replay(record: ResourceRecord): void {
    if ('observation' in record) this.apply(record.observation, this.observations.length < this.kept_max);
    else Object.assign(this, record.state);
  }

  /** Everything the observations add up to, for a log whose oldest observations were not kept. */
  private state(): ResourceState {
    return { counter: this.counter, max_token: this.max_token, max_seen: this.max_seen, accepted: this.accepted, rejected: this.rejected, dropped: this.dropped, backend_counter: this.backend_counter };
  }

  /**
   * The backend's counter as a contender just read it (backend mode: `lock status`, and `down`'s
   * check before the backend stops): kept on disk too, so a check of the stopped cluster's record
   * compares the acknowledged increments with the backend's own last word.
   */
  noteBackendCounter(value: number): void {
    this.backend_counter = value;
    this.store?.append({ state: this.state() });
  }

  /** What the resource reports to the supervisor: its counter and token, and the lock check so far with its newest violation. */
  stateReport(): Record<string, string | number | boolean | null> {
    const live = this.live;
    return {
      role: 'resource',
      counter: this.counter_place === 'resource' ? this.counter : this.backend_counter,
      max_token: this.max_token,
      accepted: this.accepted,
      rejected: this.rejected,
      lost: live.lost,
      overlaps: live.overlaps,
      violations: live.violations,
      last_violation: live.last_violation,
      verdict: live.summary(),
      verdict_ok: live.ok,
    };
  }

  /**
   * A read: the counter, or why it was refused. Under fencing a read carries
   * its token too and is refused once a newer token came (reads or writes):
   * a read-modify-write whose read predates a newer holder's would otherwise
   * pass the write check with an older token than nobody wrote yet.
   */
  read(node: string, fields: SectionFields, at_ms: number): { value: number } | { refused: string } {
    const reason = this.fencing ? this.staleness(fields.token, false) : null;
    const value = this.counter;
    this.commit({ kind: 'read', node, ...fields, at_ms, value, ...(reason ? { accepted: false, reason } : {}) });
    return reason ? { refused: reason } : { value };
  }

  /** A write: null when accepted, else why it was refused (a stale or missing token under fencing). */
  write(node: string, fields: SectionFields, value: number, at_ms: number): string | null {
    const reason = this.fencing ? this.staleness(fields.token, true) : null;
    this.commit({ kind: 'write', node, ...fields, at_ms, value, accepted: reason === null, before: this.counter, ...(reason ? { reason } : {}) });
    return reason;
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
    this.commit({ kind, node, ...fields, at_ms, value, ...(kind === 'write' ? { accepted: ok } : {}) });
  }

  /** One lock_report page: the observations from `from` on (at most report_page_max) and the counter as it stands. */
  report(from: number): LockReport {
    const page = this.observations.slice(from, from + report_page_max);
    const next = from + page.length < this.observations.length ? from + page.length : null;
    return { ...this.reportHead(), observations: page, next };
  }

  private reportHead(): Omit<LockReport, 'observations' | 'next'> {
    return {
      counter_place: this.counter_place,
      fencing: this.fencing,
      counter: this.counter_place === 'resource' ? this.counter : this.backend_counter,
      max_token: this.max_token,
      dropped: this.dropped,
      total: this.observations.length,
    };
  }
}

interface ResourceState {
  counter: number;
  max_token: number | null;
  max_seen: number | null;
  accepted: number;
  rejected: number;
  dropped: number;
  /** Backend mode: the backend's counter as last read (absent in records written before it was kept). */
  backend_counter?: number | null;
}

/** One record of the resource's log: an observation kept, or (once the record is full) the state after one that was not. */
export type ResourceRecord = { observation: Observation } | { state: ResourceState };

export const resource_log_file = 'resource.wal';
/** Beside the log: how the resource judged writes (fencing, where the counter lived, the backend), so a stopped cluster's record can still be checked. */
export const resource_settings_file = 'resource.json';

export interface ResourceSettings {
  fencing: boolean;
  counter_place: 'resource' | 'backend';
  lock_backend: LockBackend;
}

/** Keeps the settings beside the log (at every start: a restart with other options says so). */
export function writeResourceSettings(dir: string, settings: ResourceSettings): void {
  writeFileAtomic(path.join(dir, resource_settings_file), JSON.stringify(settings) + '\n');
}

/**
 * What a stopped cluster's resource recorded, read from its data folder (DSLAB_DATA_DIR of r1) and
 * left untouched; null when the folder holds no record (the resource never ran, or the data was removed).
 */
export function recordedReport(dir: string): LockReport | null {
  const settings_file = path.join(dir, resource_settings_file);
  const log_file = path.join(dir, resource_log_file);
  if (!existsSync(settings_file) || !existsSync(log_file)) return null;
  const settings = JSON.parse(readFileSync(settings_file, 'utf8')) as ResourceSettings;
  return Resource.fromRecord(settings, Wal.read<ResourceRecord>(log_file)).fullReport(settings.lock_backend);
}
/** State records (one per observation past observations_max) the log takes before it is rewritten to the kept observations and one state. */
export const state_records_max = 10_000;

/**
 * The resource's record on disk (DSLAB_DATA_DIR/resource.wal), in the WAL the
 * Raft and Zab logs use: a restarted r1 keeps its counter, the highest token
 * it accepted and what it observed, so fencing holds across its restarts.
 */
export class ResourceStore {
  private state_records: number;

  private constructor(
    private readonly wal: Wal,
    readonly records: readonly ResourceRecord[],
    /** State records the log takes before it is rewritten. */
    private readonly compact_after: number,
  ) {
    this.state_records = records.filter((r) => 'state' in r).length;
  }

  /** Opens (or creates) the log in dir and reads it back; a corrupt one throws a UserError. */
  static open(dir: string, compact_after = state_records_max): ResourceStore {
    const { wal, records } = Wal.open<ResourceRecord>(path.join(dir, resource_log_file));
    return new ResourceStore(wal, records, compact_after);
  }

  /** Appends one record and makes it durable before returning. */
  append(record: ResourceRecord): void {
    this.wal.append([record]);
    this.wal.sync();
    if ('state' in record) this.state_records++;
  }

  needsCompaction(): boolean {
    return this.state_records >= this.compact_after;
  }

  /** Rewrites the log to the kept observations and the state now: a bounded log however long the run. */
  compact(observations: readonly Observation[], state: ResourceState): void {
    this.wal.rewrite([...observations.map((observation) => ({ observation })), { state }]);
    this.state_records = 1;
  }

  close(): void {
    this.wal.close();
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
  const dir = process.env.DSLAB_DATA_DIR ?? '.';
  const settings: ResourceSettings = { fencing: options.fencing, counter_place: options.counter, lock_backend: options.backend };
  writeResourceSettings(dir, settings);
  const resource = new Resource(options.fencing, options.counter, ResourceStore.open(dir), readLockPlantedBug(process.env), observations_max, options.backend);
  const node = new Node();
  const report = () => node.reportState(resource.stateReport());
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
    if (Number.isSafeInteger(message.body.value)) resource.noteBackendCounter(message.body.value as number);
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
