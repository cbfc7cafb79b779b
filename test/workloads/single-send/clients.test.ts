import { readFileSync } from 'node:fs';
import path from 'node:path';
import { wrongKindMessage } from '../../../src/cli/cluster-kind.js';
import { systems as registry_systems } from '../../../src/registry.js';
import { describe, expect, it } from 'vitest';
import type { ClientTransport } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { IndefiniteError, UserError } from '../../../src/lib/util/errors.js';
import { broadcastMessage, readMessages, sendTopology } from '../../../src/workloads/broadcast/client.js';
import { gridTopology } from '../../../src/workloads/broadcast/topology.js';
import { addElement, readSet } from '../../../src/workloads/g-set/client.js';
import { parseDelta } from '../../../src/workloads/pn-counter/cli.js';
import { addDelta, readCounter } from '../../../src/workloads/pn-counter/client.js';
import { clusterWorkload } from '../../../src/workloads/single-send/cli.js';
import { historyEntry, historyHeader, HistoryWriter } from '../../../src/workloads/single-send/history.js';
import type { SingleSendOutcome } from '../../../src/workloads/single-send/send.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-single-send-');

/** A fake cluster: `answer` gives each reply (or throws); the clock moves 10 ms per request. */
function transport(answer: (dest: string, body: MessageBody) => MessageBody) {
  let now = 1000;
  const sent: { client: string; dest: string; body: MessageBody; timeout_ms: number }[] = [];
  const fake: ClientTransport = {
    request: async (client, dest, body, timeout_ms) => {
      sent.push({ client, dest, body, timeout_ms });
      now += 10;
      return answer(dest, body);
    },
    leader: () => null,
    upNodes: () => ['n1', 'n2', 'n3'],
    now: () => now,
    sleep: async (ms) => void (now += ms),
  };
  return { fake, sent };
}

const silent = () => {
  throw new IndefiniteError('n2 did not answer within 5 s');
};

/** Each workload's operations, by kind, with the reply a good node gives. */
const operations = [
  { name: 'broadcast', kind: 'add', run: (t: ClientTransport) => broadcastMessage(t, 'c3', 'n2', 17, 5000), body: { type: 'broadcast', message: 17 }, ok: { type: 'broadcast_ok' } },
  { name: 'topology', kind: 'add', run: (t: ClientTransport) => sendTopology(t, 'c3', 'n2', { n2: ['n1'] }, 5000), body: { type: 'topology', topology: { n2: ['n1'] } }, ok: { type: 'topology_ok' } },
  { name: 'g-set add', kind: 'add', run: (t: ClientTransport) => addElement(t, 'c3', 'n2', 'x', 5000), body: { type: 'add', element: 'x' }, ok: { type: 'add_ok' } },
  { name: 'counter add', kind: 'add', run: (t: ClientTransport) => addDelta(t, 'c3', 'n2', -4, 5000), body: { type: 'add', delta: -4 }, ok: { type: 'add_ok' } },
  { name: 'broadcast read', kind: 'read', run: (t: ClientTransport) => readMessages(t, 'c3', 'n2', 5000), body: { type: 'read' }, ok: { type: 'read_ok', messages: [1, 2] } },
  { name: 'g-set read', kind: 'read', run: (t: ClientTransport) => readSet(t, 'c3', 'n2', 5000), body: { type: 'read' }, ok: { type: 'read_ok', value: ['x'] } },
  { name: 'counter read', kind: 'read', run: (t: ClientTransport) => readCounter(t, 'c3', 'n2', 5000), body: { type: 'read' }, ok: { type: 'read_ok', value: 12 } },
] as const;

describe('the set and counter clients', () => {
  it.each(operations)('$name: sends its message once to the node and is ok on the expected reply', async (op) => {
    const { fake, sent } = transport(() => ({ ...op.ok }));
    const done = await op.run(fake);
    expect(sent).toEqual([{ client: 'c3', dest: 'n2', body: op.body, timeout_ms: 5000 }]);
    expect(done).toMatchObject({ outcome: 'ok', node: 'n2', call_ms: 1000, return_ms: 1010 });
  });

  it.each(operations)('$name: with no answer it is not sent again, and is unknown for an add, fail for a read', async (op) => {
    const { fake, sent } = transport(silent);
    const done = await op.run(fake);
    expect(sent).toHaveLength(1);
    expect(done).toMatchObject({ outcome: op.kind === 'add' ? 'unknown' : 'fail', return_ms: op.kind === 'add' ? null : expect.any(Number), error: { code: 0, text: 'n2 did not answer within 5 s' } });
  });

  it.each(operations)('$name: a definite error fails it, an indefinite one leaves an add unknown, and neither is resent', async (op) => {
    const definite = transport(() => ({ type: 'error', code: 11, text: 'not now' }));
    expect(await op.run(definite.fake)).toMatchObject({ outcome: 'fail', error: { code: 11, text: 'not now' } });
    const crashed = transport(() => ({ type: 'error', code: 13, text: 'crashed' }));
    expect(await op.run(crashed.fake)).toMatchObject({ outcome: op.kind === 'add' ? 'unknown' : 'fail', error: { code: 13 } });
    expect([definite.sent.length, crashed.sent.length]).toEqual([1, 1]);
  });

  it('a request refused before any node saw it (the node is down) failed, whatever its kind', async () => {
    const { fake } = transport(() => {
      throw new UserError('n2 is down');
    });
    expect(await broadcastMessage(fake, 'c3', 'n2', 1, 5000)).toMatchObject({ outcome: 'fail', error: { text: 'n2 is down' }, return_ms: 1010 });
  });

  it("takes each read's answer from its own field, and fails a read_ok without a usable one", async () => {
    expect((await readMessages(transport(() => ({ type: 'read_ok', messages: [3, 1] })).fake, 'c1', 'n1', 100)).result).toEqual([3, 1]);
    expect((await readSet(transport(() => ({ type: 'read_ok', value: ['a'] })).fake, 'c1', 'n1', 100)).result).toEqual(['a']);
    expect((await readCounter(transport(() => ({ type: 'read_ok', value: -3 })).fake, 'c1', 'n1', 100)).result).toBe(-3);
    // broadcast's read answers in `messages`, g-set's in `value`: the other field is not taken for it.
    expect(await readMessages(transport(() => ({ type: 'read_ok', value: [1] })).fake, 'c1', 'n1', 100)).toMatchObject({ outcome: 'fail', error: { code: 12, text: "read_ok's messages is missing, not a list" } });
    expect(await readCounter(transport(() => ({ type: 'read_ok', value: 1.5 })).fake, 'c1', 'n1', 100)).toMatchObject({ outcome: 'fail', error: { text: "read_ok's value is 1.5, not an integer" } });
  });

  it('an answer of another type is the unanswered outcome', async () => {
    expect(await addDelta(transport(() => ({ type: 'read_ok', value: 1 })).fake, 'c1', 'n1', 1, 100)).toMatchObject({ outcome: 'unknown', error: { code: 13, text: 'answered "read_ok" instead of add_ok' } });
  });
});

describe('history lines', () => {
  const ok: SingleSendOutcome = { outcome: 'ok', node: 'n2', call_ms: 1012.5, return_ms: 1014, reply: { type: 'read_ok' } };

  it('records adds with their value, ok reads with their result, times from the origin', () => {
    expect(historyEntry('c3', 'add', ok, 1000, { value: 17 })).toEqual({ client: 'c3', node: 'n2', f: 'add', value: 17, call_ms: 12.5, return_ms: 14, outcome: 'ok' });
    expect(historyEntry('c1', 'read', ok, 1000, { answer: [1, 17], final: true })).toEqual({ client: 'c1', node: 'n2', f: 'read', result: [1, 17], call_ms: 12.5, return_ms: 14, outcome: 'ok', final: true });
  });

  it('an unknown add has no return; a failed read has no result and keeps its error code', () => {
    const unknown: SingleSendOutcome = { outcome: 'unknown', node: 'n1', call_ms: 1100, return_ms: null, error: { code: 0, text: 'no answer' } };
    expect(historyEntry('c2', 'add', unknown, 1000, { value: 5 })).toEqual({ client: 'c2', node: 'n1', f: 'add', value: 5, call_ms: 100, return_ms: null, outcome: 'unknown', error: 0 });
    const failed: SingleSendOutcome = { outcome: 'fail', node: 'n1', call_ms: 1100, return_ms: 1101, error: { code: 11, text: 'not now' } };
    expect(historyEntry('c2', 'read', failed, 1000, { answer: [9] })).toEqual({ client: 'c2', node: 'n1', f: 'read', call_ms: 100, return_ms: 101, outcome: 'fail', error: 11 });
  });

  it('a history file starts with the header naming its workload, then one line per operation', async () => {
    const file = path.join(tempDir(), 'history.jsonl');
    const writer = new HistoryWriter(file, 'g-counter');
    writer.write(historyEntry('c1', 'add', ok, 1000, { value: 3 }));
    writer.write(historyEntry('c1', 'read', ok, 1000, { answer: 3, final: true }));
    await writer.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([JSON.parse(historyHeader('g-counter')), expect.objectContaining({ f: 'add', value: 3 }), expect.objectContaining({ f: 'read', result: 3, final: true })]);
    expect(lines[0]).toEqual({ type: 'workload', workload: 'g-counter' });
  });

  it('refuses a history path it cannot write, in one line', () => {
    expect(() => new HistoryWriter(path.join(tempDir(), 'no', 'such', 'dir', 'h.jsonl'), 'broadcast')).toThrow(/^cannot write the history to .*h\.jsonl: /);
  });
});

describe("broadcast's grid topology", () => {
  it('lays the nodes on a square row by row; each has the ones below, above, right and left of it', () => {
    expect(gridTopology(['n1', 'n2', 'n3', 'n4', 'n5'])).toEqual({ n1: ['n4', 'n2'], n2: ['n5', 'n3', 'n1'], n3: ['n2'], n4: ['n1', 'n5'], n5: ['n2', 'n4'] });
    expect(gridTopology(['n1'])).toEqual({ n1: [] });
    const big = gridTopology(Array.from({ length: 25 }, (_, i) => `n${i + 1}`));
    expect(big.n13).toEqual(['n18', 'n8', 'n14', 'n12']);
    expect(Object.values(big).every((neighbours) => neighbours.length >= 2 && neighbours.length <= 4)).toBe(true);
  });
});

describe('the CLI helpers', () => {
  const systems = [
    { name: 'raft', workloads: ['lin-kv'] },
    { name: 'g-counter', workloads: ['g-counter'] },
    { name: 'pn-counter', workloads: ['pn-counter'] },
  ];

  it("picks the workload the cluster's system speaks, and the first for a label of no system or a --bin node under another system's label", () => {
    expect(clusterWorkload({ name: 'c', system: 'g-counter' }, ['pn-counter', 'g-counter'], systems)).toBe('g-counter');
    expect(clusterWorkload({ name: 'mine', system: 'mine' }, ['pn-counter', 'g-counter'], systems)).toBe('pn-counter');
    // dslab's own raft nodes are refused before this, by the commands' shared wrong-kind check (wrongKindMessage).
    expect(clusterWorkload({ name: 'kv', system: 'raft' }, ['pn-counter', 'g-counter'], systems)).toBe('pn-counter');
  });

  it('refuses a dslab raft cluster for the counter commands, in one line naming who speaks them', () => {
    const message = wrongKindMessage({ name: 'kv', system: 'raft', command: [] }, ['pn-counter', 'g-counter'], registry_systems);
    expect(message).toMatch(/^cluster kv runs raft, not (g-counter or pn-counter|pn-counter or g-counter): start one with dslab up (g-counter|pn-counter)$/);
  });

  it('takes integer deltas only', () => {
    expect(parseDelta('-4')).toBe(-4);
    expect(parseDelta('+7')).toBe(7);
    expect(() => parseDelta('1.5')).toThrow('the delta must be an integer, got "1.5"');
    expect(() => parseDelta('x')).toThrow(UserError);
  });
});
