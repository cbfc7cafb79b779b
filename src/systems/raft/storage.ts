// What a Raft node keeps on disk (hard state, snapshot, log in the WAL) and how it reads it back. Disk
// only: it makes no protocol decision.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Wal, writeFileAtomic } from '../../lib/storage/wal.js';
import type { HardState, LogEntry, PersistedState, Ready, Snapshot } from './core/core.js';

/**
 * Raft's durable state in a node's data directory: a write-ahead log of hard
 * states, appended entries and truncations (raft.wal), and the latest snapshot
 * (snapshot.json, replaced atomically). Everything is fsynced before persist()
 * returns, which is before any message of the same Ready is sent.
 */

type WalRecord = { t: 'hard_state'; term: number; voted_for: string | null } | { t: 'entries'; entries: LogEntry[] } | { t: 'truncate'; from: number };

export class RaftStorage {
  private hardState: HardState = { term: 0, voted_for: null };

  private constructor(
    private readonly wal: Wal,
    private readonly snapshotFile: string,
  ) {}

  /** Opens the data directory and returns what it holds, plus how many torn bytes were cut. */
  static open(dir: string): { storage: RaftStorage; persisted: PersistedState; truncated_bytes: number } {
    const snapshotFile = path.join(dir, 'snapshot.json');
    const snapshot = existsSync(snapshotFile) ? (JSON.parse(readFileSync(snapshotFile, 'utf8')) as Snapshot) : null;
    const { wal, records, truncated_bytes } = Wal.open<WalRecord>(path.join(dir, 'raft.wal'));
    const storage = new RaftStorage(wal, snapshotFile);
    let entries: LogEntry[] = [];
    for (const record of records) {
      if (record.t === 'hard_state') storage.hardState = { term: record.term, voted_for: record.voted_for };
      else if (record.t === 'truncate') entries = entries.filter((e) => e.index < record.from);
      else entries.push(...record.entries);
    }
    const after = snapshot?.index ?? 0;
    return { storage, persisted: { hard_state: storage.hardState, snapshot, entries: entries.filter((e) => e.index > after) }, truncated_bytes };
  }

  /** Makes the durable parts of a Ready durable; `logAfterSnapshot` gives the entries to keep when compacting. */
  persist(ready: Ready, logAfterSnapshot: () => LogEntry[]): void {
    const records: WalRecord[] = [];
    if (ready.hard_state) {
      this.hardState = ready.hard_state;
      records.push({ t: 'hard_state', ...ready.hard_state });
    }
    if (ready.log_truncate_from !== null) {
      records.push({ t: 'truncate', from: ready.log_truncate_from });
      if (ready.entries.length) records.push({ t: 'entries', entries: ready.entries });
    }
    if (records.length) {
      this.wal.append(records);
      this.wal.sync();
    }
    if (ready.snapshot) {
      writeFileAtomic(this.snapshotFile, JSON.stringify(ready.snapshot));
      // The snapshot is durable: the log can now start after it.
      this.wal.rewrite([{ t: 'hard_state', ...this.hardState }, { t: 'entries', entries: logAfterSnapshot() }]);
    }
  }

  walBytes(): number {
    return this.wal.bytes();
  }
}
