import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewClusterEvent } from '../../../src/lib/control/api.js';
import type { ClientTransport, WorkloadHost, WorkloadRuntime } from '../../../src/lib/plugin.js';
import type { MessageBody } from '../../../src/lib/protocol/messages.js';
import { createRng, seed_max } from '../../../src/lib/util/prng.js';
import { lin_kv } from '../../../src/workloads/lin-kv/plugin.js';
import { lin_kv_operation_args, load_clients_max, load_keys_max, load_rate_per_s_max, load_rate_per_s_min } from '../../../src/workloads/lin-kv/runtime.js';

/** lin-kv's supervisor part over a fake store that answers every request at once, recording who sent what. */
function setup(servers: string[] = ['n1']) {
  const sent: { client: string; dest: string; body: MessageBody }[] = [];
  const store = new Map<string, unknown>();
  const transport: ClientTransport = {
    async request(client, dest, body) {
      sent.push({ client, dest, body });
      const key = String(body.key);
      if (body.type === 'write') store.set(key, body.value);
      if (body.type === 'read') return store.has(key) ? { type: 'read_ok', value: store.get(key) } : { type: 'error', code: 20, text: 'no such key' };
      return { type: `${String(body.type)}_ok` };
    },
    leader: () => 'n1',
    upNodes: () => servers,
    now: () => Date.now(),
    sleep: async () => undefined,
  };
  const events: NewClusterEvent[] = [];
  const runtime = lin_kv.runtime!({ transport, session_tag: 'run1', emit: (event: NewClusterEvent) => events.push(event), subscribe: () => () => undefined, rng: createRng(1), servers } as unknown as WorkloadHost);
  return { runtime, sent, events };
}

const run = (runtime: WorkloadRuntime, op: string, args: Record<string, unknown>) => runtime.operations[op]!.run(runtime.operations[op]!.args.parse(args));

describe('lin-kv in the supervisor', () => {
  it('runs kv operations through the transport and says what happened', async () => {
    const { runtime, sent } = setup();
    expect((await run(runtime, 'kv', { op: { f: 'write', key: 'x', value: 5 } })).description).toBe('wrote x = 5');
    expect(await run(runtime, 'kv', { op: { f: 'read', key: 'x' } })).toMatchObject({ description: 'x = 5', outcome: 'ok', result: 5 });
    expect((await run(runtime, 'kv', { op: { f: 'read', key: 'y' } })).description).toBe('y does not exist');
    // Sessions are named for the supervisor run, so a restarted cluster never mistakes a new write for a retry.
    expect(sent[0]!.body).toMatchObject({ type: 'write', client: 'c1001@run1', seq: 1 });
  });

  it('lends an idle pool client, and keeps a named client its own', async () => {
    const { runtime, sent } = setup();
    await run(runtime, 'kv', { op: { f: 'write', key: 'x', value: 1 } });
    await run(runtime, 'kv', { op: { f: 'write', key: 'x', value: 2 } });
    await run(runtime, 'kv', { client: 'c7', op: { f: 'write', key: 'x', value: 3 } });
    expect(sent.map((s) => s.client)).toEqual(['c1001', 'c1001', 'c7']);
    // The pooled client's second write is its own next seq: one session, one operation at a time.
    expect(sent.map((s) => s.body.seq)).toEqual([1, 2, 1]);
  });

  it('runs one load at a time and reports it on the event stream', async () => {
    const { runtime, events } = setup();
    const started = await run(runtime, 'load_start', { clients: 2, rate_per_s: 50, duration_ms: 200, keys: 3, history_path: null, seed: 4 });
    expect(started.description).toMatch(/^load started: 2 clients, 50 ops\/s .* over 3 fresh keys/);
    expect(() => run(runtime, 'load_start', { clients: 1, rate_per_s: 1, duration_ms: 200, keys: 1, history_path: null })).toThrow(/a load is already running/);
    expect((await run(runtime, 'load_stop', {})).description).toMatch(/load stopping/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events.map((e) => e.type === 'load' && e.phase)).toEqual(['start', 'done']);
    expect(() => run(runtime, 'load_stop', {})).toThrow(/no load is running/);
    runtime.stop();
  });

  it("spreads a load over the nodes as Maelstrom binds clients: client i to node i mod n, while kv commands go to the leader", async () => {
    const { runtime, sent, events } = setup(['n1', 'n2', 'n3']);
    await run(runtime, 'load_start', { clients: 6, rate_per_s: 100, duration_ms: 400, keys: 3, history_path: null, seed: 4 });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => events.some((e) => e.type === 'load' && e.phase === 'done') && (clearInterval(poll), resolve()), 10);
    });
    const nodesOf = new Map<string, Set<string>>();
    for (const { client, dest } of sent) (nodesOf.get(client) ?? nodesOf.set(client, new Set()).get(client)!).add(dest);
    const byClient = [...nodesOf].map(([client, nodes]) => [client, [...nodes]]);
    expect(byClient.length).toBe(6);
    // Each client talks to one node only, and every node has two clients.
    expect(byClient.every(([, nodes]) => nodes.length === 1)).toBe(true);
    const perNode = new Map<string, number>();
    for (const [, nodes] of byClient) perNode.set(nodes[0]!, (perNode.get(nodes[0]!) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ n1: 2, n2: 2, n3: 2 });
    const before = sent.length;
    await run(runtime, 'kv', { op: { f: 'read', key: 'x' } });
    expect(sent[before]!.dest).toBe('n1');
    runtime.stop();
  });

  it('bounds a load by the named limits', () => {
    const load = z.object(lin_kv_operation_args.load_start);
    const accepts = (fields: Record<string, unknown>) => load.safeParse({ clients: 1, rate_per_s: 1, duration_ms: 1000, keys: 1, history_path: null, ...fields }).success;
    expect(accepts({ clients: load_clients_max })).toBe(true);
    expect(accepts({ clients: load_clients_max + 1 })).toBe(false);
    expect(accepts({ rate_per_s: load_rate_per_s_min })).toBe(true);
    expect(accepts({ rate_per_s: load_rate_per_s_max + 1 })).toBe(false);
    expect(accepts({ keys: load_keys_max + 1 })).toBe(false);
    expect(accepts({ seed: seed_max + 1 })).toBe(false);
    expect(accepts({ mix: { read: 0, write: 0, cas: 0 } })).toBe(false);
  });
});
