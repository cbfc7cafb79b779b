import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../../src/lib/control/api.js';
import type { ControlClient } from '../../../src/lib/control/client.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { generateIds, idText } from '../../../src/workloads/ids/client.js';

/** A one-node cluster whose node answers each generate with `answer`; records what was sent. */
function cluster(answer: (body: MessageBody, index: number) => MessageBody) {
  const sent: MessageBody[] = [];
  const status = { nodes: [{ id: 'n1', group: 'nodes', status: 'up', state: {} }] } as unknown as ClusterStatus;
  const control = {
    status: async () => status,
    act: async (action: { body: MessageBody }) => {
      sent.push(action.body);
      return { reply: answer(action.body, sent.length - 1) };
    },
  } as unknown as ControlClient;
  return { control, sent };
}

describe('id generate', () => {
  it('asks a node that speaks batches once for all the ids', async () => {
    const { control, sent } = cluster(() => ({ type: 'generate_ok', ids: ['11', '12', '13'] }));
    expect(await generateIds(control, { count: 3, timeout_ms: 1000 })).toEqual({ node: 'n1', ids: ['11', '12', '13'], batch: true });
    expect(sent).toEqual([{ type: 'generate', count: 3 }]);
  });

  it('asks a Maelstrom node that refuses count (error 10 or 12) for one id per generate', async () => {
    for (const code of [10, 12]) {
      const { control, sent } = cluster((body, i) => (body.count !== undefined ? { type: 'error', code, text: 'No handler' } : { type: 'generate_ok', id: `n1-${i}` }));
      expect(await generateIds(control, { count: 3, timeout_ms: 1000 })).toEqual({ node: 'n1', ids: ['n1-1', 'n1-2', 'n1-3'], batch: false });
      expect(sent).toEqual([{ type: 'generate', count: 3 }, { type: 'generate' }, { type: 'generate' }, { type: 'generate' }]);
    }
  });

  it('counts the one id of a node that ignores count, and asks for the rest one at a time', async () => {
    const { control, sent } = cluster((_body, i) => ({ type: 'generate_ok', id: i }));
    expect((await generateIds(control, { count: 3, timeout_ms: 1000 })).ids).toEqual(['0', '1', '2']);
    expect(sent).toHaveLength(3);
  });

  it('prints ids that are arrays or objects as JSON, as Maelstrom allows any value', async () => {
    const { control } = cluster((_body, i) => ({ type: 'generate_ok', id: i === 0 ? ['n1', 0] : { node: 'n1', n: i } }));
    expect((await generateIds(control, { count: 2, timeout_ms: 1000 })).ids).toEqual(['["n1",0]', '{"node":"n1","n":1}']);
    expect([idText('abc'), idText(12), idText(null), idText(true)]).toEqual(['abc', '12', 'null', 'true']);
  });

  it('reports a refusal other than "no batches" as the node said it', async () => {
    const { control } = cluster(() => ({ type: 'error', code: 11, text: 'no worker number yet' }));
    await expect(generateIds(control, { count: 3, timeout_ms: 1000 })).rejects.toThrow(/^n1 refused: no worker number yet$/);
  });
});
