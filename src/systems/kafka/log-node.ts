// The reference kafka node's handlers: each key's log and committed offset kept in lin-kv, with a cache
// per node. Runs on the node runtime; the caller runs the node.
/**
 * The reference node of the kafka system (Maelstrom's kafka challenge),
 * correct on one node or many, and restartable, since it keeps nothing of
 * its own:
 *
 * - Each key's whole log is one lin-kv value, `log-KEY`, an array of msgs
 *   (the offset of a msg is its index). A send appends by compare-and-set
 *   from the log as this node last saw it; lin-kv takes one cas at a time, so
 *   two nodes can never hand out the same offset. A cas that finds the log
 *   longer than expected fails changing nothing: the node reads the log and
 *   tries again. Sends that wait for the same key at one node go in one cas
 *   (a batch), so a node never races itself.
 * - The node keeps the longest log it has seen of each key. Logs only grow by
 *   appends, so that copy is always a true prefix: a poll from an offset the
 *   copy holds is answered from it, with no message to lin-kv; only a poll at
 *   or past its end reads lin-kv.
 * - Each key's committed offset is `committed-KEY` in lin-kv, raised by cas
 *   and never lowered; a commit at or below the copy this node holds sends
 *   nothing. list_committed_offsets reads lin-kv, as another node's commit
 *   must show at once.
 *
 * The cost: logs are whole values, so each cas carries the key's log (short
 * under Maelstrom's generator, which retires a key after 16 sends).
 */
import { error_codes, type Envelope, type MessageBody } from '../../lib/protocol/messages.js';
import { type Node, RpcError } from '../../lib/runtime/node.js';
import type { KafkaPlantedBug } from './options.js';

/** The lin-kv service every cluster has. */
export const lin_kv = 'lin-kv';
/** Msgs of one key a poll returns at most (the client asks again from where it got to). */
export const poll_msgs_per_key_max = 1000;
/** Sends waiting for one key's cas at one node; beyond this a send is refused (temporarily unavailable). */
export const sends_waiting_per_key_max = 1000;
/** How long the node waits for lin-kv's answer. */
export const lin_kv_timeout_ms = 1000;

const logKey = (key: string) => `log-${key}`;
const committedKey = (key: string) => `committed-${key}`;

interface WaitingSend {
  message: Envelope;
  msg: unknown;
}

/** Whether `error` is lin-kv's answer with this code (not a timeout). */
function isKvError(error: unknown, code: number): boolean {
  return error instanceof RpcError && error.code === code;
}

/** Gives `node` the kafka handlers. `planted_bug` is a lab variant's deliberate mistake (options.ts). */
export function logNode(node: Node, planted_bug: KafkaPlantedBug | null = null): void {
  /** key → the longest log seen (a prefix of lin-kv's). */
  const logs = new Map<string, unknown[]>();
  /** key → the highest committed offset seen. */
  const committed = new Map<string, number>();
  /** key → sends waiting for the key's cas; a key is here while a cas for it is under way. */
  const waiting = new Map<string, WaitingSend[]>();
  const kv = (body: MessageBody) => node.rpc(lin_kv, body, lin_kv_timeout_ms);

  const learnLog = (key: string, log: unknown[]) => {
    if (log.length > (logs.get(key)?.length ?? 0)) logs.set(key, log);
  };
  const readLog = async (key: string): Promise<unknown[]> => {
    try {
      const value = (await kv({ type: 'read', key: logKey(key) })).value;
      if (Array.isArray(value)) learnLog(key, value);
    } catch (error) {
      if (!isKvError(error, error_codes.key_does_not_exist)) throw error;
    }
    return logs.get(key) ?? [];
  };

  /** Appends every waiting send of `key` by cas until none is left; one batch per cas. */
  const appendWaiting = async (key: string) => {
    for (;;) {
      const batch = waiting.get(key)!;
      if (batch.length === 0) {
        waiting.delete(key);
        return;
      }
      waiting.set(key, []);
      try {
        const offset = await append(key, batch.map((s) => s.msg));
        batch.forEach((send, i) => node.reply(send.message, { type: 'send_ok', offset: offset + i }));
      } catch (error) {
        // Timed out: the cas may have happened, so these sends may be in the log; say so, and do not retry.
        const code = error instanceof RpcError ? error.code : error_codes.crash;
        for (const send of batch) node.replyError(send.message, code, `lin-kv did not take the send: ${(error as Error).message}`);
      }
    }
  };
  /** Appends `msgs` to `key`'s log and resolves with the first one's offset. */
  const append = async (key: string, msgs: unknown[]): Promise<number> => {
    for (;;) {
      const from = logs.get(key) ?? [];
      const to = [...from, ...msgs];
      try {
        if (planted_bug === 'blind-append') await kv({ type: 'write', key: logKey(key), value: to });
        else await kv({ type: 'cas', key: logKey(key), from, to, create_if_not_exists: from.length === 0 });
        learnLog(key, to);
        return from.length;
      } catch (error) {
        // Someone appended first (or the key is newer than this node knows): nothing happened; look again.
        if (!isKvError(error, error_codes.precondition_failed)) throw error;
        await readLog(key);
      }
    }
  };

  node.on('send', (message) => {
    const key = String(message.body.key);
    const queue = waiting.get(key);
    if (queue && queue.length >= sends_waiting_per_key_max) return node.replyError(message, error_codes.temporarily_unavailable, `more than ${sends_waiting_per_key_max} sends wait for key ${key}`);
    if (queue) return void queue.push({ message, msg: message.body.msg });
    waiting.set(key, [{ message, msg: message.body.msg }]);
    void appendWaiting(key);
  });

  node.on('poll', async (message) => {
    const asked = Object.entries((message.body.offsets ?? {}) as Record<string, number>);
    const msgs: Record<string, [number, unknown][]> = {};
    await Promise.all(
      asked.map(async ([key, from_offset]) => {
        const start = Math.max(0, Math.floor(Number(from_offset) || 0)) + (planted_bug === 'poll-skips' ? 1 : 0);
        let log = logs.get(key) ?? [];
        if (start >= log.length) {
          // Nothing new here: lin-kv may have more. If it does not answer, this poll has nothing new.
          log = await readLog(key).catch(() => log);
        }
        const pairs = log.slice(start, start + poll_msgs_per_key_max).map((msg, i): [number, unknown] => [start + i, msg]);
        msgs[key] = planted_bug === 'poll-reorders' ? pairs.reverse() : pairs;
      }),
    );
    node.reply(message, { type: 'poll_ok', msgs });
  });

  const readCommitted = async (key: string): Promise<number | undefined> => {
    try {
      const value = Number((await kv({ type: 'read', key: committedKey(key) })).value);
      if (value > (committed.get(key) ?? -1)) committed.set(key, value);
    } catch (error) {
      if (!isKvError(error, error_codes.key_does_not_exist)) throw error;
    }
    return committed.get(key);
  };
  /** Raises `key`'s committed offset to at least `offset`. */
  const commit = async (key: string, offset: number) => {
    if (planted_bug === 'commits-in-memory') return void committed.set(key, Math.max(offset, committed.get(key) ?? -1));
    for (;;) {
      const from = committed.get(key);
      if (from !== undefined && from >= offset) return;
      try {
        await kv({ type: 'cas', key: committedKey(key), from: from ?? null, to: offset, create_if_not_exists: from === undefined });
        committed.set(key, offset);
        return;
      } catch (error) {
        if (!isKvError(error, error_codes.precondition_failed)) throw error;
        await readCommitted(key);
      }
    }
  };

  node.on('commit_offsets', async (message) => {
    const offsets = Object.entries((message.body.offsets ?? {}) as Record<string, number>);
    try {
      await Promise.all(offsets.map(([key, offset]) => commit(key, Number(offset))));
      node.reply(message, { type: 'commit_offsets_ok' });
    } catch (error) {
      node.replyError(message, error instanceof RpcError ? error.code : error_codes.crash, `lin-kv did not take the commit: ${(error as Error).message}`);
    }
  });

  node.on('list_committed_offsets', async (message) => {
    const keys = ((message.body.keys ?? []) as unknown[]).map(String);
    const offsets: Record<string, number> = {};
    try {
      await Promise.all(
        keys.map(async (key) => {
          const offset = planted_bug === 'commits-in-memory' ? committed.get(key) : await readCommitted(key);
          if (offset !== undefined) offsets[key] = offset;
        }),
      );
      node.reply(message, { type: 'list_committed_offsets_ok', offsets });
    } catch (error) {
      node.replyError(message, error_codes.temporarily_unavailable, `lin-kv did not answer: ${(error as Error).message}`);
    }
  });
}
