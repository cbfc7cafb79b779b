// What a worker keeps on disk: how far ahead its ids may reach (the time floor, in a WAL). Disk only:
// it issues nothing.

import path from 'node:path';
import { Wal } from '../../lib/storage/wal.js';

/**
 * The worker's own record of how far ahead its ids may reach: before it issues
 * an id at time T it makes sure a time at or beyond T is on disk, reserving a
 * little ahead (reserve_ms) so it writes a few times a second, not per id. A
 * restarted worker issues nothing at or before the record, so it cannot repeat
 * an id it handed out before the crash, even with its clock set back (it
 * refuses until the clock passes the record, as for any step back). This is
 * the local half of what the coordinator's record does across workers.
 */
export const reserve_ms = 200;
/** Records kept before the log is rewritten to its latest one. */
const records_max = 1000;
export const floor_file = 'snowflake-floor.wal';

export class TimeFloor {
  readonly reserve_ms = reserve_ms;
  private ceiling_ms: number;
  private records: number;

  private constructor(
    private readonly wal: Wal,
    recorded: number,
    count: number,
  ) {
    this.ceiling_ms = recorded;
    this.records = count;
  }

  /** Opens (or creates) the record in dir; throws a UserError for a corrupt one. */
  static open(dir: string): TimeFloor {
    const opened = Wal.open<{ ceiling_ms: number }>(path.join(dir, floor_file));
    const recorded = Math.max(0, ...opened.records.map((r) => (Number.isSafeInteger(r.ceiling_ms) ? r.ceiling_ms : 0)));
    return new TimeFloor(opened.wal, recorded, opened.records.length);
  }

  /** The time on record (0: none): an id at or before it may have been issued, by this process or an earlier one. */
  get ceiling(): number {
    return this.ceiling_ms;
  }

  /** Makes sure ids up to now_ms are covered by the record on disk (fsync when it must grow). */
  cover(now_ms: number): void {
    if (now_ms < this.ceiling_ms) return;
    const ceiling_ms = now_ms + reserve_ms;
    if (this.records >= records_max) {
      this.wal.rewrite([{ ceiling_ms }]);
      this.records = 1;
    } else {
      this.wal.append([{ ceiling_ms }]);
      this.wal.sync();
      this.records++;
    }
    this.ceiling_ms = ceiling_ms;
  }

  close(): void {
    this.wal.close();
  }
}
