import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/lib/control/api.js';
import { formatServices } from '../../src/cli/format/status.js';
import { service_names, ServiceHub } from '../../src/lib/services/hub.js';
import { createRng } from '../../src/lib/util/prng.js';

const line = (src: string, dest: string, body: Record<string, unknown>) => JSON.stringify({ src, dest, body });

describe('service hub', () => {
  it('offers every built-in service under its Maelstrom name', () => {
    const hub = new ServiceHub(createRng(1));
    expect(hub.names).toEqual([...service_names]);
    expect(service_names).toEqual(['lin-kv', 'seq-kv', 'lww-kv', 'lin-tso']);
    expect(hub.has('lin-kv') && !hub.has('n1') && !hub.has('dslab')).toBe(true);
  });

  it('turns a delivered line into reply lines from the service to the sender, and counts them', () => {
    const hub = new ServiceHub(createRng(1));
    const [reply] = hub.receive('lin-kv', line('n2', 'lin-kv', { type: 'write', key: 'a', value: 1, msg_id: 5 }), 0);
    expect(reply!.src).toBe('lin-kv');
    expect(reply!.dest).toBe('n2');
    expect(JSON.parse(reply!.line)).toEqual({ src: 'lin-kv', dest: 'n2', body: { type: 'write_ok', msg_id: 1, in_reply_to: 5 } });
    const [error] = hub.receive('lin-kv', line('n2', 'lin-kv', { type: 'read', key: 'missing', msg_id: 6 }), 0);
    expect(JSON.parse(error!.line).body).toMatchObject({ type: 'error', code: 20, in_reply_to: 6 });
    expect(hub.receive('lin-kv', line('n2', 'lin-kv', { type: 'read_ok', in_reply_to: 3 }), 0)).toEqual([]);
    expect(hub.receive('lin-tso', line('n1', 'lin-tso', { type: 'ts', msg_id: 1 }), 0)).toHaveLength(1);
    const counters = Object.fromEntries(hub.counters().map((c) => [c.name, c]));
    expect(counters['lin-kv']).toEqual({ name: 'lin-kv', msgs_in: 3, msgs_out: 2, errors: 1, ignored: 1 });
    expect(counters['lin-tso']).toEqual({ name: 'lin-tso', msgs_in: 1, msgs_out: 1, errors: 0, ignored: 0 });
    expect(counters['seq-kv']).toEqual({ name: 'seq-kv', msgs_in: 0, msgs_out: 0, errors: 0, ignored: 0 });
  });

  it('replays the same answers from the same seed', () => {
    const run = (seed: number) => {
      const hub = new ServiceHub(createRng(seed));
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        out.push(...hub.receive('seq-kv', line(`n${1 + (i % 2)}`, 'seq-kv', i % 2 ? { type: 'read', key: 'x', msg_id: i } : { type: 'write', key: 'x', value: i, msg_id: i }), i).map((r) => r.line));
        out.push(...hub.receive('lww-kv', line(`n${1 + (i % 2)}`, 'lww-kv', i % 2 ? { type: 'read', key: 'x', msg_id: i } : { type: 'write', key: 'x', value: i, msg_id: i }), i).map((r) => r.line));
      }
      return out;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('status names the services nodes used, with their traffic, and says nothing when none was used', () => {
    const hub = new ServiceHub(createRng(1));
    const status = (services: ClusterStatus['services']) => ({ services }) as ClusterStatus;
    expect(formatServices(status(hub.counters()))).toBeNull();
    expect(formatServices(status(undefined))).toBeNull();
    hub.receive('lin-kv', line('n1', 'lin-kv', { type: 'read', key: 'x', msg_id: 1 }), 0);
    hub.receive('lin-kv', line('n1', 'lin-kv', { type: 'write', key: 'x', value: 1, msg_id: 2 }), 0);
    hub.receive('lin-tso', line('n1', 'lin-tso', { type: 'ts', msg_id: 3 }), 0);
    expect(formatServices(status(hub.counters()))).toBe('services: lin-kv 2 in, 2 out (1 error) · lin-tso 1 in, 1 out');
  });
});
