import { describe, expect, it } from 'vitest';
import type { ClientTransport } from '../../../src/lib/plugin.js';
import { createRng } from '../../../src/lib/util/prng.js';
import type { FinalPhaseContext } from '../../../src/maelstrom/run/final-phase.js';
import { kafkaDriver } from '../../../src/maelstrom/run/kafka-driver.js';
import type { RunHistoryEntry } from '../../../src/maelstrom/run/result.js';

/**
 * kafka's final phase: fresh clients assign every key from the beginning and poll until they have
 * read the highest offset known to exist on each key, or until the phase's time runs out.
 */
async function finalPhase(highest_polled_offset: number, final_polls_s: number) {
  const driver = kafkaDriver({ final_polls_s });
  const transport: ClientTransport = {
    request: async (_client, _node, body) => {
      if (body.type === 'send') return { type: 'send_ok', offset: 5 };
      if (body.type === 'poll') return { type: 'poll_ok', msgs: { a: Array.from({ length: highest_polled_offset + 1 }, (_, i) => [i, i]) } };
      return { type: 'commit_offsets_ok' };
    },
    leader: () => null,
    upNodes: () => ['n1'],
    now: () => Date.now(),
    sleep: async () => {},
  };
  driver.operations(createRng(1), { key_count: 1, concurrency: 2 });
  await driver.perform(transport, 'c1', 'n1', { f: 'send', value: { key: 'a', msg: 1 } }, 100, 0, false);
  const entries: RunHistoryEntry[] = [];
  let clients = 0;
  const ctx: FinalPhaseContext = {
    concurrency: 2,
    nodes: ['n1'],
    newClient: () => `f${clients++}`,
    perform: async (client, node, op) => {
      const entry = await driver.perform(transport, client, node, op, 100, 0, true);
      entries.push(entry);
      return entry;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    stopped: () => false,
    rng: createRng(2),
  };
  const started = Date.now();
  await driver.final_phase(ctx);
  return { entries, ms: Date.now() - started, clients };
}

describe("kafka's final phase", () => {
  it('stops each client once it has polled up to the highest known offset', async () => {
    const { entries, clients } = await finalPhase(5, 30);
    expect(clients).toBe(2);
    expect(entries.filter((e) => e.f === 'assign')).toEqual([expect.objectContaining({ value: { keys: ['a'], seek_to_beginning: true }, final: true }), expect.objectContaining({ final: true })]);
    expect(entries.filter((e) => e.f === 'poll')).toHaveLength(2);
  });

  it('keeps polling while an offset known to exist is missing, until its time runs out', async () => {
    const { entries, ms } = await finalPhase(3, 0.5);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(20_000);
    expect(entries.filter((e) => e.f === 'poll').length).toBeGreaterThan(2);
  });
});
