import { describe, expect, it } from 'vitest';
import type { ClientTransport } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { IndefiniteError } from '../../../src/lib/util/errors.js';
import { createRng } from '../../../src/lib/util/prng.js';
import { broadcast_operations } from '../../../src/workloads/broadcast/client.js';
import { g_set_operations } from '../../../src/workloads/g-set/client.js';
import { counterOperations } from '../../../src/workloads/pn-counter/client.js';
import { performOperation, pn_delta_max, pn_delta_min, type AddReadOperation } from '../../../src/workloads/single-send/generator.js';

function draw(source: { next(): AddReadOperation }, count: number): AddReadOperation[] {
  return Array.from({ length: count }, () => source.next());
}

describe("the add/read workloads' operation mixes", () => {
  it('broadcast and g-set: about half adds, of the elements 0, 1, 2, … in order; the same seed draws the same run', () => {
    for (const workload of [broadcast_operations, g_set_operations]) {
      const ops = draw(workload.operations(createRng(7)), 2000);
      const adds = ops.filter((op) => op.f === 'add');
      expect(adds.length).toBeGreaterThan(850);
      expect(adds.length).toBeLessThan(1150);
      expect(adds.map((op) => op.value)).toEqual(adds.map((_, i) => i));
      expect(draw(workload.operations(createRng(7)), 2000)).toEqual(ops);
    }
  });

  it('pn-counter: deltas from -5 to 4, every one of them drawn; g-counter: none below zero, adds a third of the mix', () => {
    const pn = draw(counterOperations('pn-counter').operations(createRng(3)), 4000).flatMap((op) => (op.f === 'add' ? [op.value as number] : []));
    expect(new Set(pn)).toEqual(new Set(Array.from({ length: pn_delta_max - pn_delta_min + 1 }, (_, i) => pn_delta_min + i)));
    const g = draw(counterOperations('g-counter').operations(createRng(3)), 3000);
    const g_adds = g.flatMap((op) => (op.f === 'add' ? [op.value as number] : []));
    expect(Math.min(...g_adds)).toBe(0);
    expect(Math.max(...g_adds)).toBe(pn_delta_max);
    expect(g_adds.length).toBeGreaterThan(850);
    expect(g_adds.length).toBeLessThan(1150);
  });
});

describe('performing an operation', () => {
  function transport(answer: (body: MessageBody) => MessageBody): { fake: ClientTransport; sent: MessageBody[] } {
    let now = 500;
    const sent: MessageBody[] = [];
    return {
      sent,
      fake: {
        request: async (_client, _dest, body) => {
          sent.push(body);
          now += 4;
          return answer(body);
        },
        leader: () => null,
        upNodes: () => ['n1'],
        now: () => now,
        sleep: async () => undefined,
      },
    };
  }

  it("sends the workload's message once and gives its history line", async () => {
    const { fake, sent } = transport(() => ({ type: 'add_ok' }));
    expect(await performOperation(counterOperations('pn-counter'), fake, 'c4', 'n1', { f: 'add', value: -3 }, 1000, 500)).toEqual({ client: 'c4', node: 'n1', f: 'add', value: -3, call_ms: 0, return_ms: 4, outcome: 'ok' });
    expect(sent).toEqual([{ type: 'add', delta: -3 }]);
    const read = transport(() => ({ type: 'read_ok', messages: [0, 2] }));
    expect(await performOperation(broadcast_operations, read.fake, 'c4', 'n1', { f: 'read' }, 1000, 500, true)).toEqual({ client: 'c4', node: 'n1', f: 'read', result: [0, 2], call_ms: 0, return_ms: 4, outcome: 'ok', final: true });
  });

  it('records an unanswered add as unknown and an unanswered read as failed', async () => {
    const { fake, sent } = transport(() => {
      throw new IndefiniteError('no answer');
    });
    expect(await performOperation(g_set_operations, fake, 'c1', 'n1', { f: 'add', value: 9 }, 1000, 500)).toMatchObject({ f: 'add', value: 9, outcome: 'unknown', return_ms: null });
    expect(await performOperation(g_set_operations, fake, 'c1', 'n1', { f: 'read' }, 1000, 500, true)).toMatchObject({ f: 'read', outcome: 'fail', final: true });
    expect(sent).toEqual([{ type: 'add', element: 9 }, { type: 'read' }]);
  });
});
