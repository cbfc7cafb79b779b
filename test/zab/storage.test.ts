// The Zab server's disk: both epochs kept apart, the txn log with truncations and snapshots, a torn
// tail cut on open, and corruption (a damaged record in the middle of the log, a damaged snapshot)
// refused with one line.

import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/lib/util/errors.js';
import type { LoggedTxn, Ready } from '../../src/systems/zab/core/core.js';
import { formatZxid, zxid } from '../../src/systems/zab/core/zxid.js';
import { snapshot_file_name, wal_file_name, ZabStorage } from '../../src/systems/zab/storage.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const scratchDir = tempDirs('dslab-zab-storage-');

function txns(...zs: [number, number][]): LoggedTxn[] {
  return zs.map(([e, c]) => ({ zxid: zxid(e, c), txn: { value: `v${e}.${c}` } }));
}

/** A Ready with only durable fields set as given (the storage reads no others but state). */
function ready(fields: Partial<Pick<Ready, 'accepted_epoch' | 'current_epoch' | 'snapshot' | 'log_truncate_after' | 'log_append'>>): Ready {
  return {
    accepted_epoch: null,
    current_epoch: null,
    snapshot: null,
    log_truncate_after: null,
    log_append: [],
    messages: [],
    apply_snapshot: null,
    committed: [],
    events: [],
    state: {} as Ready['state'],
    ...fields,
  };
}

const zxids = (log: readonly LoggedTxn[]) => log.map((t) => formatZxid(t.zxid));

function reopen(dir: string) {
  const opened = ZabStorage.open(dir);
  opened.storage.close();
  return opened;
}

describe('zab storage', () => {
  it('keeps acceptedEpoch and currentEpoch as two values', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ accepted_epoch: 1, current_epoch: 1 }));
    // A learner accepted epoch 2 (ACKEPOCH) but was never synced in it.
    storage.persist(ready({ accepted_epoch: 2 }));
    storage.close();
    const { persisted } = reopen(dir);
    expect(persisted.accepted_epoch).toBe(2);
    expect(persisted.current_epoch).toBe(1);
  });

  it('replays appends and a TRUNC in order', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ log_truncate_after: zxid(0, 0), log_append: txns([1, 1], [1, 2], [1, 3]) }));
    // TRUNC to 1:1, then the leader's txns of epoch 2.
    storage.persist(ready({ log_truncate_after: zxid(1, 1), log_append: txns([2, 1]) }));
    storage.close();
    expect(zxids(reopen(dir).persisted.log)).toEqual(['1:1', '2:1']);
  });

  it('after a snapshot, the log holds only what follows it and restarts from both', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ accepted_epoch: 1, current_epoch: 1, log_truncate_after: zxid(0, 0), log_append: txns([1, 1], [1, 2], [1, 3]) }));
    const before = storage.walBytes();
    storage.persist(ready({ snapshot: { zxid: zxid(1, 2), data: { image: 'at 1:2' } } }));
    expect(storage.walBytes()).toBeLessThan(before);
    storage.persist(ready({ log_truncate_after: zxid(1, 3), log_append: txns([1, 4]) }));
    storage.close();
    const { persisted } = reopen(dir);
    expect(persisted.snapshot).toEqual({ zxid: zxid(1, 2), data: { image: 'at 1:2' } });
    expect(zxids(persisted.log)).toEqual(['1:3', '1:4']);
    expect([persisted.accepted_epoch, persisted.current_epoch]).toEqual([1, 1]);
  });

  it('a SNAP drops the txns of another history past the snapshot', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ log_truncate_after: zxid(0, 0), log_append: txns([1, 1], [1, 2], [1, 3]) }));
    // The leader's snapshot at 2:5 and its txn after; our 1:x are all below or gone.
    storage.persist(ready({ snapshot: { zxid: zxid(2, 5), data: 'image' }, log_truncate_after: zxid(2, 5), log_append: txns([2, 6]) }));
    storage.close();
    expect(zxids(reopen(dir).persisted.log)).toEqual(['2:6']);
  });

  it('cuts a torn tail and keeps what came before it', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ accepted_epoch: 1, current_epoch: 1, log_truncate_after: zxid(0, 0), log_append: txns([1, 1]) }));
    const intact = storage.walBytes();
    storage.persist(ready({ log_truncate_after: zxid(1, 1), log_append: txns([1, 2]) }));
    storage.close();
    const file = path.join(dir, wal_file_name);
    const torn = statSync(file).size - 4;
    truncateSync(file, torn); // a crash in the middle of the last append
    const opened = reopen(dir);
    expect(opened.truncated_bytes).toBe(torn - intact);
    expect(statSync(file).size).toBe(intact);
    expect(zxids(opened.persisted.log)).toEqual(['1:1']);
    expect(opened.persisted.current_epoch).toBe(1);
  });

  it('refuses a log corrupt in the middle, in one line', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ accepted_epoch: 1 }));
    const first = storage.walBytes();
    storage.persist(ready({ log_truncate_after: zxid(0, 0), log_append: txns([1, 1]) }));
    storage.persist(ready({ log_truncate_after: zxid(1, 1), log_append: txns([1, 2]) }));
    storage.close();
    const file = path.join(dir, wal_file_name);
    const data = readFileSync(file);
    data[first + 12] ^= 0xff; // inside the second record's payload; the third stays intact
    writeFileSync(file, data);
    let thrown: unknown;
    try {
      ZabStorage.open(dir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UserError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/corrupt in the middle.*refusing to start/);
    expect(message).not.toContain('\n');
  });

  it('refuses a damaged snapshot rather than start without it', () => {
    const dir = scratchDir();
    const { storage } = ZabStorage.open(dir);
    storage.persist(ready({ log_truncate_after: zxid(0, 0), log_append: txns([1, 1], [1, 2]) }));
    storage.persist(ready({ snapshot: { zxid: zxid(1, 2), data: 'image' } }));
    storage.close();
    const file = path.join(dir, snapshot_file_name);
    const data = readFileSync(file);
    data[data.length - 2] ^= 0xff;
    writeFileSync(file, data);
    expect(() => ZabStorage.open(dir)).toThrow(/snapshot\.bin is corrupt \(checksum mismatch\); refusing to start/);
  });
});
