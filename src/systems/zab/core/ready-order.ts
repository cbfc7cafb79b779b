// Which of a Ready's messages may leave before its disk write. Pure: the host writes and sends.

import type { Outgoing, Ready } from './core.js';

/**
 * Which of a Ready's messages may leave before its disk write. A Ready is handled disk first, then
 * messages, so that an acknowledgement (ACK, ACKEPOCH, a NEWLEADER's ACK) describes the disk. A
 * leader's PROPOSAL is the exception, as ZooKeeper's leader sends a proposal to its followers while it
 * logs it: it claims nothing about the leader's disk, so the followers' fsyncs can overlap the leader's.
 * That stays safe only while the host persists synchronously, reading no acknowledgement (and so
 * counting itself towards no commit) before the write returns.
 */
export function messagesBeforeDisk(ready: Ready): Outgoing[] {
  return ready.messages.filter((m) => m.body.type === 'proposal');
}

/** The rest, in the core's order: they leave once the Ready's writes are on disk. */
export function messagesAfterDisk(ready: Ready): Outgoing[] {
  return ready.messages.filter((m) => m.body.type !== 'proposal');
}
