// The snowflake worker's runtime: the pure generator (core/) driven by the node's clock and timers, the
// number source and the time floor. Every id decision stays in core/.

/**
 * The snowflake worker around its pure generator: it answers Maelstrom's
 * `generate` (and `generate` with `count`), reads its clock through the node
 * runtime (so `dslab skew` moves it), issues only while it holds a worker
 * number it may use, waits out a small step back and a full sequence, and
 * refuses the rest with the reason in words. What it reports in dslab_state
 * is what the dashboard shows.
 */
import { error_codes, type Envelope } from '../../lib/protocol/messages.js';
import { IdGenerator, type NextStep } from './core/generator.js';
import { formatLayout } from './core/layout.js';
import { generate_count_max, generatorBug, record_interval_ms, type SnowflakeOptions } from './options.js';
import type { WorkerNumbers } from './numbers.js';

/** Requests waiting (for the next time unit, or out a step back) at once; more are refused rather than queued without limit. */
export const waiting_requests_max = 1000;
/** How often the worker reports its state (and measures its ids/s). */
export const report_interval_ms = 500;

/** What the worker needs of the node runtime (Node has all of it; tests pass a fake). */
export interface WorkerRuntime {
  readonly id: string;
  /** The node's clock: wall time plus any skew. */
  now(): number;
  /** A clock no skew moves (for how old the session's last reply is). */
  mono(): number;
  /** The skew in force on now(), ms. */
  clockOffset(): number;
  reply(request: Envelope, body: { type: string; [field: string]: unknown }): void;
  replyError(request: Envelope, code: number, text: string): void;
  after(ms: number, run: () => void): () => void;
  every(ms: number, run: () => void): () => void;
  reportState(fields: Record<string, string | number | boolean | null>): void;
  log(...parts: unknown[]): void;
}

/** What the worker needs of its own time record (TimeFloor in storage.ts). */
export interface LocalFloor {
  /** No id at or before this may be issued again. */
  readonly ceiling: number;
  /** How far ahead of the ids issued the ceiling may be (a clock that far behind it is waited out). */
  readonly reserve_ms: number;
  /** Records (durably) that ids up to now_ms may be issued. */
  cover(now_ms: number): void;
}

/** serving: ids go out; waiting: a step back is being waited out; refusing: requests are refused (why in `refusal`). */
export type WorkerMode = 'serving' | 'waiting' | 'refusing';

interface Pending {
  request: Envelope;
  /** Ids still to issue; null for a single `generate` (answered with `id`). */
  count: number | null;
  ids: bigint[];
}

export class SnowflakeWorker {
  private generator: IdGenerator | null = null;
  private readonly queue: Pending[] = [];
  private wakeup: (() => void) | null = null;
  private refusal: string | null = null;
  private issued_at_last_report = 0;
  private issued_before_generator = 0;
  private last_report_mono = 0;
  private ids_per_s = 0;
  private stopTimers: (() => void)[] = [];

  /**
   * `floor`: the worker's own record of how far its ids reached (storage.ts), or null where it has
   * no data directory (under Maelstrom).
   */
  constructor(
    private readonly runtime: WorkerRuntime,
    private readonly options: SnowflakeOptions,
    private readonly numbers: WorkerNumbers,
    private readonly floor: LocalFloor | null = null,
  ) {
    numbers.onChange(() => this.holdingChanged());
  }

  start(): void {
    this.holdingChanged();
    this.numbers.start();
    this.last_report_mono = this.runtime.mono();
    this.stopTimers.push(this.runtime.every(report_interval_ms, () => this.report()));
    this.stopTimers.push(
      this.runtime.every(record_interval_ms, () => {
        const latest = this.generator?.latest_ms;
        if (latest != null) this.numbers.record(latest);
      }),
    );
    this.report();
  }

  stop(): void {
    for (const stop of this.stopTimers) stop();
    this.wakeup?.();
    this.numbers.stop();
  }

  /** Handles `generate`; `count` (1 to generate_count_max) asks for that many ids, answered as `ids`. */
  generate(request: Envelope): void {
    const count = request.body.count;
    if (count !== undefined && (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > generate_count_max)) {
      this.runtime.replyError(request, error_codes.malformed_request, `count must be a whole number from 1 to ${generate_count_max}, got ${JSON.stringify(count)}`);
      return;
    }
    if (this.queue.length >= waiting_requests_max) {
      this.runtime.replyError(request, error_codes.temporarily_unavailable, `${waiting_requests_max} requests are already waiting`);
      return;
    }
    this.queue.push({ request, count: (count as number | undefined) ?? null, ids: [] });
    if (this.queue.length === 1) this.drain();
  }

  /** The worker's mode and reason now (for reports and the dashboard). */
  mode(): { mode: WorkerMode; refusal: string | null } {
    const why = this.unavailable();
    if (why) return { mode: 'refusing', refusal: why };
    const latest = this.generator!.latest_ms;
    const behind = latest === null ? 0 : latest - this.runtime.now();
    if (behind > this.generator!.backward_limit_ms) return { mode: 'refusing', refusal: this.clockBackText(behind) };
    if (behind > 0) return { mode: 'waiting', refusal: null };
    return { mode: 'serving', refusal: null };
  }

  private unavailable(): string | null {
    return this.numbers.unavailable(this.runtime.mono()) ?? (this.generator ? null : (this.refusal ?? 'no worker number yet'));
  }

  private clockBackText(behind_ms: number): string {
    const latest = this.generator?.latest_ms;
    return `the clock is ${behind_ms} ms behind the latest time issued (${latest != null ? new Date(latest).toISOString() : '?'}), more than --max-backward ${this.options.max_backward_ms} ms; refusing until it catches up`;
  }

  private describeRefusal(step: Extract<NextStep, { kind: 'refuse' }>): string {
    if (step.reason === 'clock_back') return this.clockBackText(step.behind_ms);
    if (step.reason === 'before_epoch') return `the clock is ${step.behind_ms} ms before the epoch`;
    return 'the layout has run out of time bits: no later id fits';
  }

  /** Serves waiting requests in order until one must wait; refusals answer at once. */
  private drain(): void {
    this.wakeup = null;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const why = this.unavailable();
      if (why) {
        this.queue.shift();
        this.runtime.replyError(head.request, error_codes.temporarily_unavailable, why);
        continue;
      }
      const now = this.runtime.now();
      try {
        this.floor?.cover(now);
      } catch (error) {
        this.queue.shift();
        this.runtime.replyError(head.request, error_codes.temporarily_unavailable, `cannot record the latest time on disk: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const wanted = (head.count ?? 1) - head.ids.length;
      const stop = this.generator!.take(now, wanted, head.ids);
      if (stop === null) {
        this.queue.shift();
        // The planted bug number_ids rounds each id to the nearest a JavaScript number holds.
        const text = this.options.planted_bug === 'number_ids' ? (id: bigint) => String(BigInt(Number(id))) : (id: bigint) => id.toString();
        if (head.count === null) this.runtime.reply(head.request, { type: 'generate_ok', id: text(head.ids[0]!) });
        else this.runtime.reply(head.request, { type: 'generate_ok', ids: head.ids.map(text) });
        continue;
      }
      if (stop.kind === 'refuse') {
        this.queue.shift();
        // Ids taken for a batch that is refused are dropped: never handed out, so never twice.
        this.runtime.replyError(head.request, error_codes.temporarily_unavailable, this.describeRefusal(stop));
        continue;
      }
      const wait_ms = Math.max(1, stop.until_ms - now);
      const cancel = this.runtime.after(wait_ms, () => this.drain());
      this.wakeup = cancel;
      return;
    }
  }

  private holdingChanged(): void {
    const holding = this.numbers.holding;
    if (this.generator) this.issued_before_generator += this.generator.issued;
    this.generator = null;
    this.refusal = null;
    if (holding) {
      try {
        const bug = generatorBug(this.options.planted_bug);
        this.generator = new IdGenerator({ layout: this.options.layout, epoch_ms: this.options.epoch_ms, datacenter: holding.datacenter, worker: holding.worker, max_backward_ms: this.options.max_backward_ms, ...(bug ? { test_planted_bug: bug } : {}) });
        // Nothing at or before what an earlier holder of the number recorded, or what this worker may have issued.
        if (holding.floor_ms !== null) this.generator.raiseFloor(holding.floor_ms);
        if (this.floor && this.floor.ceiling > 0) this.generator.raiseFloor(this.floor.ceiling, this.floor.reserve_ms);
      } catch (error) {
        this.refusal = error instanceof Error ? error.message : String(error);
      }
    }
    // A batch half taken under the old number starts again under the new one: one batch, one number.
    for (const pending of this.queue) pending.ids = [];
    this.report();
    // A request waiting for the next unit under the old number is served (or refused) under the new state.
    if (this.queue.length > 0 && this.wakeup === null) this.drain();
  }

  private issuedTotal(): number {
    return this.issued_before_generator + (this.generator?.issued ?? 0);
  }

  report(): void {
    const mono = this.runtime.mono();
    const elapsed_ms = mono - this.last_report_mono;
    if (elapsed_ms >= report_interval_ms / 2) {
      const issued = this.issuedTotal();
      this.ids_per_s = Math.round(((issued - this.issued_at_last_report) * 1000) / elapsed_ms);
      this.issued_at_last_report = issued;
      this.last_report_mono = mono;
    }
    const holding = this.numbers.holding;
    const { mode, refusal } = this.mode();
    const latest = this.generator?.latest_ms ?? null;
    this.runtime.reportState({
      role: mode,
      datacenter: holding?.datacenter ?? null,
      worker: this.generator ? holding!.worker : null,
      session: this.numbers.session_state,
      latest: latest === null ? null : new Date(latest).toISOString().slice(11, 23),
      latest_ms: latest,
      sequence: this.generator ? this.generator.sequence : null,
      ids_per_s: this.ids_per_s,
      issued: this.issuedTotal(),
      clock_offset_ms: Math.round(this.runtime.clockOffset()),
      refusal,
      // What `dslab id decode` and `dslab id load` read the cluster's ids with.
      layout: formatLayout(this.options.layout),
      epoch_ms: this.options.epoch_ms,
    });
  }
}
