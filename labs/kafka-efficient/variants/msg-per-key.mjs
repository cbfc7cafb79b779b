// Planted inefficiency (correct, wasteful): the first design that comes to mind. Each msg is its own lin-kv key
// (msg-KEY-OFFSET); a send reads the key's counter, compare-and-sets it one higher and then writes the msg; a
// poll reads offset after offset until one is missing; a commit writes the offset. Every poll costs a message
// per offset it returns, and more.
import { Node, RpcError } from '../../../dist/lib/runtime/node.js';

const key_does_not_exist = 20;
const precondition_failed = 22;
const poll_msgs_per_key_max = 1000;
const node = new Node();
const kv = (body) => node.rpc('lin-kv', body);
const readOr = async (key, missing) => {
  try {
    return (await kv({ type: 'read', key })).value;
  } catch (error) {
    if (error instanceof RpcError && error.code === key_does_not_exist) return missing;
    throw error;
  }
};
const indefinite = (request, error) => node.replyError(request, error instanceof RpcError ? error.code : 13, String(error.message));

node.on('send', async (request) => {
  const key = String(request.body.key);
  try {
    for (;;) {
      const next = await readOr(`next-${key}`, 0);
      try {
        await kv({ type: 'cas', key: `next-${key}`, from: next, to: next + 1, create_if_not_exists: next === 0 });
      } catch (error) {
        if (error instanceof RpcError && error.code === precondition_failed) continue;
        throw error;
      }
      await kv({ type: 'write', key: `msg-${key}-${next}`, value: request.body.msg });
      return node.reply(request, { type: 'send_ok', offset: next });
    }
  } catch (error) {
    indefinite(request, error);
  }
});
node.on('poll', async (request) => {
  const msgs = {};
  try {
    await Promise.all(
      Object.entries(request.body.offsets ?? {}).map(async ([key, from]) => {
        const pairs = [];
        for (let offset = from; pairs.length < poll_msgs_per_key_max; offset++) {
          const msg = await readOr(`msg-${key}-${offset}`, undefined);
          if (msg === undefined) break;
          pairs.push([offset, msg]);
        }
        msgs[key] = pairs;
      }),
    );
    node.reply(request, { type: 'poll_ok', msgs });
  } catch (error) {
    indefinite(request, error);
  }
});
node.on('commit_offsets', async (request) => {
  try {
    await Promise.all(Object.entries(request.body.offsets ?? {}).map(([key, offset]) => kv({ type: 'write', key: `committed-${key}`, value: offset })));
    node.reply(request, { type: 'commit_offsets_ok' });
  } catch (error) {
    indefinite(request, error);
  }
});
node.on('list_committed_offsets', async (request) => {
  const offsets = {};
  try {
    await Promise.all(
      (request.body.keys ?? []).map(async (key) => {
        const offset = await readOr(`committed-${key}`, undefined);
        if (offset !== undefined) offsets[key] = offset;
      }),
    );
    node.reply(request, { type: 'list_committed_offsets_ok', offsets });
  } catch (error) {
    node.replyError(request, 11, String(error.message));
  }
});
node.run();
