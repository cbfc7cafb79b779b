// What a Zab server keeps on disk (both epochs, the txn log in the WAL, a checksummed snapshot) and how
// it reads it back. Disk only: it makes no protocol decision.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Wal, writeFileAtomic } from '../../lib/storage/wal.js';
import { UserError } from '../../lib/util/errors.js';
import type { LoggedTxn, PersistedState, Ready, Snapshot } from './core/core.js';
import { compareZxid, formatZxid, zxid_zero, type Zxid } from './core/zxid.js';

/**
 * A Zab server's durable state in its data directory, as ZooKeeper keeps it
 * in spirit: a txn log (zab.wal, the project's checksummed WAL) that also
 * records acceptedEpoch and currentEpoch as two separate kinds of record (the
 * two files ZooKeeper keeps), and the latest snapshot (snapshot.bin: one
 * checksummed frame, replaced atomically). Everything a Ready asks for is
 * fsynced before persist() returns, which is before any message of that Ready
 * leaves: so an ACKEPOCH, a NEWLEADER acknowledgement or a proposal's ACK
 * always describes the disk.
 *
 * On open, a torn tail of the log (a crash mid-append) is cut; a damaged
 * record followed by intact ones, or a snapshot whose checksum fails, is
 * corruption, and open() throws a UserError with a one-line reason.
 */

type WalRecord =
  | { t: 'accepted_epoch'; epoch: number }
  | { t: 'current_epoch'; epoch: number }
  | { t: 'txns'; txns: LoggedTxn[] }
  /** Every txn after this zxid is gone (a TRUNC, or a SNAP that replaced the log). */
  | { t: 'truncate_after'; zxid: Zxid };

export const wal_file_name = 'zab.wal';
export const snapshot_file_name = 'snapshot.bin';
/** Snapshot frame: [u32 payload length][u32 crc32 of payload][payload], little-endian, as the WAL frames records. */
const snapshot_header_bytes = 8;

export interface OpenedZabStorage {
  storage: ZabStorage;
  persisted: PersistedState;
  /** Bytes cut from a torn tail of the log on open (0 when it ended cleanly). */
  truncated_bytes: number;
}

export class ZabStorage {
  private accepted_epoch = 0;
  private current_epoch = 0;
  private snapshot: Snapshot | null = null;
  /** A copy of the durable txns after the snapshot, so a compaction can rewrite the log without asking the core. */
  private log: LoggedTxn[] = [];

  private constructor(
    private readonly wal: Wal,
    private readonly snapshotFile: string,
  ) {}

  /** Opens the data directory and returns what it holds. Throws UserError when it is corrupt. */
  static open(dir: string): OpenedZabStorage {
    const snapshotFile = path.join(dir, snapshot_file_name);
    const snapshot = existsSync(snapshotFile) ? readSnapshot(snapshotFile) : null;
    const { wal, records, truncated_bytes } = Wal.open<WalRecord>(path.join(dir, wal_file_name));
    const storage = new ZabStorage(wal, snapshotFile);
    storage.snapshot = snapshot;
    for (const record of records) storage.replay(record);
    if (snapshot) storage.log = storage.log.filter((t) => compareZxid(t.zxid, snapshot.zxid) > 0);
    if (storage.current_epoch > storage.accepted_epoch) {
      throw new UserError(`${wal.file} holds current epoch ${storage.current_epoch} above accepted epoch ${storage.accepted_epoch}, which Zab never writes; refusing to start`);
    }
    return {
      storage,
      persisted: { accepted_epoch: storage.accepted_epoch, current_epoch: storage.current_epoch, snapshot, log: [...storage.log] },
      truncated_bytes,
    };
  }

  private replay(record: WalRecord): void {
    switch (record.t) {
      case 'accepted_epoch':
        this.accepted_epoch = record.epoch;
        return;
      case 'current_epoch':
        this.current_epoch = record.epoch;
        return;
      case 'truncate_after':
        this.log = this.log.filter((t) => compareZxid(t.zxid, record.zxid) <= 0);
        return;
      case 'txns':
        for (const t of record.txns) {
          const last = this.lastZxid();
          if (compareZxid(t.zxid, last) <= 0) throw new UserError(`${this.wal.file} appends txn ${formatZxid(t.zxid)} after ${formatZxid(last)}, out of order; refusing to start`);
          this.log.push(t);
        }
        return;
    }
  }

  private lastZxid(): Zxid {
    return this.log.at(-1)?.zxid ?? this.snapshot?.zxid ?? zxid_zero;
  }

  /**
   * Makes the durable parts of a Ready durable, in the order the core asks:
   * both epochs, the snapshot, then the log change; one fsync covers the log.
   */
  persist(ready: Ready): void {
    const records: WalRecord[] = [];
    if (ready.accepted_epoch !== null) {
      this.accepted_epoch = ready.accepted_epoch;
      records.push({ t: 'accepted_epoch', epoch: ready.accepted_epoch });
    }
    if (ready.current_epoch !== null) {
      this.current_epoch = ready.current_epoch;
      records.push({ t: 'current_epoch', epoch: ready.current_epoch });
    }
    if (ready.snapshot) {
      const snapshot = ready.snapshot;
      // The epochs go first, so a crash between the snapshot and the log rewrite loses neither.
      if (records.length) this.appendAndSync(records.splice(0));
      writeSnapshot(this.snapshotFile, snapshot);
      this.snapshot = snapshot;
      this.log = this.log.filter((t) => compareZxid(t.zxid, snapshot.zxid) > 0);
      // The snapshot is durable: the log can start after it.
      this.wal.rewrite(this.baseRecords());
    }
    if (ready.log_truncate_after !== null) {
      const cut = ready.log_truncate_after;
      if (compareZxid(cut, this.lastZxid()) < 0) {
        records.push({ t: 'truncate_after', zxid: cut });
        this.log = this.log.filter((t) => compareZxid(t.zxid, cut) <= 0);
      }
      if (ready.log_append.length) {
        records.push({ t: 'txns', txns: ready.log_append });
        this.log.push(...ready.log_append);
      }
    }
    if (records.length) this.appendAndSync(records);
  }

  private appendAndSync(records: WalRecord[]): void {
    this.wal.append(records);
    this.wal.sync();
  }

  /** What a rewritten log starts with: both epochs and the txns after the snapshot. */
  private baseRecords(): WalRecord[] {
    const records: WalRecord[] = [
      { t: 'accepted_epoch', epoch: this.accepted_epoch },
      { t: 'current_epoch', epoch: this.current_epoch },
    ];
    if (this.log.length) records.push({ t: 'txns', txns: this.log });
    return records;
  }

  walBytes(): number {
    return this.wal.bytes();
  }

  close(): void {
    this.wal.close();
  }
}

function writeSnapshot(file: string, snapshot: Snapshot): void {
  const payload = Buffer.from(JSON.stringify(snapshot), 'utf8');
  const header = Buffer.alloc(snapshot_header_bytes);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  writeFileAtomic(file, Buffer.concat([header, payload]));
}

/** The snapshot is replaced atomically, so it is never torn: any damage is corruption. */
function readSnapshot(file: string): Snapshot {
  const data = readFileSync(file);
  const length = data.length >= snapshot_header_bytes ? data.readUInt32LE(0) : -1;
  if (length < 0 || snapshot_header_bytes + length !== data.length) {
    throw new UserError(`${file} is corrupt (its length does not match its header); refusing to start. Move the data directory away to start this node empty (it then syncs from the leader).`);
  }
  const payload = data.subarray(snapshot_header_bytes);
  if (crc32(payload) !== data.readUInt32LE(4)) {
    throw new UserError(`${file} is corrupt (checksum mismatch); refusing to start. Move the data directory away to start this node empty (it then syncs from the leader).`);
  }
  return JSON.parse(payload.toString('utf8')) as Snapshot;
}
