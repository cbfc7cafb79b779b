// Messages between Zab servers: their shapes and checks. Pure: no I/O. Bodies are plain JSON; the sender
// is the envelope's source.
//
// Election (Fast Leader Election): notification.
// Discovery: followerinfo -> leaderinfo -> ackepoch.
// Synchronization: sync (mode DIFF, TRUNC then DIFF, or SNAP) -> newleader -> ack -> uptodate.
// Broadcast: proposal -> ack -> commit (followers); inform (observers); ping; request (a forwarded write).
//
// The network may lose, duplicate and reorder messages (it is not ZooKeeper's TCP), so every message
// of a learner's handshake carries its session (a number the learner draws each time it starts
// following), acks are cumulative (the last zxid logged), and proposals name the zxid before them so
// a learner appends only in order and reports gaps, which the leader fills on its next ping.

import { isZxid, type Zxid } from './zxid.js';

export type ServerState = 'looking' | 'following' | 'leading' | 'observing';
export type SyncMode = 'DIFF' | 'TRUNC' | 'SNAP';

export const server_states: readonly ServerState[] = ['looking', 'following', 'leading', 'observing'];
export const sync_modes: readonly SyncMode[] = ['DIFF', 'TRUNC', 'SNAP'];

/** One txn of the history: its zxid and the opaque payload the state machine applies. */
export interface LoggedTxn {
  readonly zxid: Zxid;
  readonly txn: unknown;
}

/** A state-machine image covering every txn up to zxid. data is opaque, produced by the application. */
export interface Snapshot {
  readonly zxid: Zxid;
  readonly data: unknown;
}

/** A vote: who should lead, and the (epoch, zxid) that server had when the vote was cast. */
export interface Vote {
  readonly leader: string;
  readonly zxid: Zxid;
  readonly epoch: number;
}

export type ZabMessage =
  | {
      type: 'notification';
      /** The proposed leader (null from an observer, which proposes nobody). */
      leader: string | null;
      zxid: Zxid;
      epoch: number;
      /** The sender's election round (ZooKeeper's logicalclock). */
      round: number;
      state: ServerState;
    }
  | { type: 'followerinfo'; session: number; accepted_epoch: number }
  | {
      type: 'leaderinfo';
      session: number;
      epoch: number;
      /** The leader already has its quorum of epoch acknowledgements: a learner that accepted this
       * epoch before (from a leader that failed to get one) may still join, since it is not counted. */
      late: boolean;
    }
  | { type: 'ackepoch'; session: number; epoch: number; current_epoch: number; last_zxid: Zxid }
  | {
      type: 'sync';
      session: number;
      epoch: number;
      mode: SyncMode;
      /** TRUNC: drop every txn after this zxid first. */
      trunc_to: Zxid | null;
      /** SNAP: replace everything with this image (txns follow it). */
      snapshot: Snapshot | null;
      /** The zxid `txns` follow: the learner's last zxid once the TRUNC or SNAP is applied. */
      base: Zxid;
      txns: LoggedTxn[];
    }
  | { type: 'newleader'; session: number; epoch: number; zxid: Zxid }
  | {
      type: 'ack';
      session: number;
      epoch: number;
      /** The last zxid the learner has on disk (cumulative). The first ack of a session acknowledges NEWLEADER. */
      zxid: Zxid;
      /** The learner has had UPTODATE (if not, an established leader sends it again). */
      uptodate: boolean;
    }
  | { type: 'uptodate'; session: number; epoch: number; commit: Zxid }
  | { type: 'proposal'; epoch: number; prev: Zxid; zxid: Zxid; txn: unknown }
  | { type: 'commit'; epoch: number; zxid: Zxid }
  | { type: 'inform'; epoch: number; prev: Zxid; zxid: Zxid; txn: unknown }
  | { type: 'ping'; session: number; epoch: number; commit: Zxid }
  | { type: 'request'; txn: unknown };

export type ZabMessageType = ZabMessage['type'];

export const zab_message_types: readonly ZabMessageType[] = [
  'notification',
  'followerinfo',
  'leaderinfo',
  'ackepoch',
  'sync',
  'newleader',
  'ack',
  'uptodate',
  'proposal',
  'commit',
  'inform',
  'ping',
  'request',
];

/** Shape check for messages arriving from the network (a malformed one is an operating error, dropped). */
export function isZabMessage(value: unknown): value is ZabMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const type = m['type'] as ZabMessageType;
  if (!zab_message_types.includes(type)) return false;
  const count = (k: string): boolean => isCount(m[k]);
  const z = (k: string): boolean => isZxid(m[k]);
  switch (type) {
    case 'notification':
      return (m['leader'] === null || typeof m['leader'] === 'string') && z('zxid') && count('epoch') && count('round') && server_states.includes(m['state'] as ServerState);
    case 'followerinfo':
      return count('session') && count('accepted_epoch');
    case 'leaderinfo':
      return count('session') && count('epoch') && typeof m['late'] === 'boolean';
    case 'ackepoch':
      return count('session') && count('epoch') && count('current_epoch') && z('last_zxid');
    case 'sync': {
      if (!count('session') || !count('epoch') || !sync_modes.includes(m['mode'] as SyncMode) || !z('base')) return false;
      if (!(m['trunc_to'] === null || isZxid(m['trunc_to']))) return false;
      const s = m['snapshot'] as Record<string, unknown> | null;
      if (!(s === null || (typeof s === 'object' && isZxid(s['zxid']) && 'data' in s))) return false;
      return Array.isArray(m['txns']) && (m['txns'] as unknown[]).every(isLoggedTxn);
    }
    case 'newleader':
      return count('session') && count('epoch') && z('zxid');
    case 'ack':
      return count('session') && count('epoch') && z('zxid') && typeof m['uptodate'] === 'boolean';
    case 'uptodate':
      return count('session') && count('epoch') && z('commit');
    case 'proposal':
    case 'inform':
      return count('epoch') && z('prev') && z('zxid') && 'txn' in m;
    case 'commit':
      return count('epoch') && z('zxid');
    case 'ping':
      return count('session') && count('epoch') && z('commit');
    case 'request':
      return 'txn' in m;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isLoggedTxn(v: unknown): v is LoggedTxn {
  return typeof v === 'object' && v !== null && isZxid((v as Record<string, unknown>)['zxid']) && 'txn' in v;
}
