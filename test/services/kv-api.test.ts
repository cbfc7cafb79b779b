// The request/reply contract lin-kv, seq-kv and lww-kv share (Maelstrom's
// lin-kv messages), checked on each. Time moves a full lww gossip interval per
// request so lww-kv's replicas agree before each one and the answers are exact.
import { describe, expect, it } from 'vitest';
import { service_key_bytes_max, service_keys_max, service_store_bytes_max, service_value_bytes_max, service_value_depth_max } from '../../src/lib/services/kv.js';
import { LinKv } from '../../src/lib/services/lin-kv.js';
import { lww_gossip_interval_ms, LwwKv } from '../../src/lib/services/lww-kv.js';
import { SeqKv } from '../../src/lib/services/seq-kv.js';
import type { Service } from '../../src/lib/services/service.js';
import { createRng } from '../../src/lib/util/prng.js';
import { ask } from './harness.js';

const makers: [string, () => Service][] = [
  ['lin-kv', () => new LinKv()],
  ['seq-kv', () => new SeqKv(createRng(7))],
  ['lww-kv', () => new LwwKv(createRng(7))],
];

/** A client whose every request comes a gossip interval after the last one. */
function client(service: Service, id = 'n1') {
  let now = 0;
  let msgId = 0;
  return (body: Record<string, unknown> & { type: string }) => ask(service, id, body, (now += lww_gossip_interval_ms), ++msgId);
}

describe.each(makers)('%s', (name, make) => {
  it('answers a read of a missing key with error 20, and reads back what was written', () => {
    const send = client(make());
    expect(send({ type: 'read', key: 'x' })).toMatchObject({ type: 'error', code: 20 });
    expect(send({ type: 'write', key: 'x', value: 5 })).toMatchObject({ type: 'write_ok' });
    expect(send({ type: 'read', key: 'x' })).toMatchObject({ type: 'read_ok', value: 5 });
    expect(send({ type: 'write', key: 'x', value: { list: [1, 2] } })).toMatchObject({ type: 'write_ok' });
    expect(send({ type: 'read', key: 'x' })).toMatchObject({ type: 'read_ok', value: { list: [1, 2] } });
  });

  it('does compare-and-set: 20 on a missing key unless create_if_not_exists, 22 when the value differs', () => {
    const send = client(make());
    expect(send({ type: 'cas', key: 'k', from: 1, to: 2 })).toMatchObject({ type: 'error', code: 20 });
    expect(send({ type: 'cas', key: 'k', from: 1, to: 2, create_if_not_exists: true })).toMatchObject({ type: 'cas_ok' });
    expect(send({ type: 'read', key: 'k' })).toMatchObject({ value: 2 });
    const refused = send({ type: 'cas', key: 'k', from: 1, to: 3 });
    expect(refused).toMatchObject({ type: 'error', code: 22 });
    expect(String(refused.text)).toContain('2');
    // create_if_not_exists does not skip the comparison on a key that exists.
    expect(send({ type: 'cas', key: 'k', from: 1, to: 3, create_if_not_exists: true })).toMatchObject({ type: 'error', code: 22 });
    expect(send({ type: 'cas', key: 'k', from: 2, to: 3 })).toMatchObject({ type: 'cas_ok' });
    expect(send({ type: 'read', key: 'k' })).toMatchObject({ value: 3 });
  });

  it('compares JSON by content: object field order does not matter, 1 and "1" differ, and so do keys 1 and "1"', () => {
    const send = client(make());
    send({ type: 'write', key: 'o', value: { a: 1, b: [true, null] } });
    expect(send({ type: 'cas', key: 'o', from: { b: [true, null], a: 1 }, to: 'next' })).toMatchObject({ type: 'cas_ok' });
    send({ type: 'write', key: 1, value: 1 });
    expect(send({ type: 'cas', key: 1, from: '1', to: 2 })).toMatchObject({ type: 'error', code: 22 });
    expect(send({ type: 'read', key: '1' })).toMatchObject({ type: 'error', code: 20 });
    expect(send({ type: 'read', key: 1 })).toMatchObject({ value: 1 });
  });

  it.each([
    [{ type: 'read' }, /read needs a "key"/],
    [{ type: 'write', key: 'x' }, /write needs a "value"/],
    [{ type: 'cas', key: 'x', from: 1 }, /cas needs a "to"/],
    [{ type: 'cas', key: 'x', to: 1 }, /cas needs a "from"/],
    [{ type: 'cas', key: 'x', from: 1, to: 2, create_if_not_exists: 'yes' }, /create_if_not_exists/],
    [{ type: 'write', key: 'x'.repeat(service_key_bytes_max), value: 1 }, /"key" is \d+ bytes/],
    [{ type: 'write', key: 'x', value: 'v'.repeat(service_value_bytes_max) }, /"value" is \d+ bytes/],
    [{ type: 'write', key: 'x', value: JSON.parse('['.repeat(service_value_depth_max + 1) + ']'.repeat(service_value_depth_max + 1)) }, /nested more than/],
  ])('answers a malformed request %# with error 12 and stores nothing', (body, text) => {
    const send = client(make());
    const reply = send(body as { type: string });
    expect(reply).toMatchObject({ type: 'error', code: 12 });
    expect(String(reply.text)).toMatch(text);
    expect(send({ type: 'read', key: 'x' })).toMatchObject({ type: 'error', code: 20 });
  });

  it('answers a type it does not know with error 10, naming what it supports', () => {
    const reply = client(make())({ type: 'delete', key: 'x' });
    expect(reply).toMatchObject({ type: 'error', code: 10 });
    expect(String(reply.text)).toBe(`${name} does not support "delete" requests; it answers read, write, cas`);
  });

  it('numbers its replies, answers a request without msg_id unlinked, and ignores replies sent to it', () => {
    const service = make();
    const first = service.handle('n1', { type: 'write', key: 'a', value: 1, msg_id: 7 }, 0);
    const second = service.handle('n1', { type: 'write', key: 'a', value: 2 }, 0);
    expect(first[0]!.body).toMatchObject({ in_reply_to: 7, msg_id: 1 });
    expect(second[0]!.body.msg_id).toBe(2);
    expect('in_reply_to' in second[0]!.body).toBe(false);
    expect(service.handle('n1', { type: 'read_ok', value: 3, in_reply_to: 4 }, 0)).toEqual([]);
    expect(service.handle('n1', { type: 'write', key: 'a', value: 9, in_reply_to: 4 }, 0)).toEqual([]);
  });

  it(`holds at most ${service_keys_max} keys: a new key beyond that fails with error 14, old keys still take writes`, () => {
    const send = client(make());
    for (let i = 0; i < service_keys_max; i++) expect(send({ type: 'write', key: i, value: i }).type).toBe('write_ok');
    const full = send({ type: 'write', key: 'one-more', value: 1 });
    expect(full).toMatchObject({ type: 'error', code: 14 });
    expect(String(full.text)).toContain(`${name} is full`);
    expect(send({ type: 'cas', key: 'new', from: 0, to: 1, create_if_not_exists: true })).toMatchObject({ type: 'error', code: 14 });
    expect(send({ type: 'write', key: 3, value: 'changed' }).type).toBe('write_ok');
    expect(send({ type: 'read', key: 3 })).toMatchObject({ value: 'changed' });
  });

  it(`holds at most ${service_store_bytes_max} bytes of keys and values`, () => {
    const send = client(make());
    const big = 'b'.repeat(service_value_bytes_max - 10);
    let written = 0;
    let refusal: Record<string, unknown> | null = null;
    for (let i = 0; i < (2 * service_store_bytes_max) / service_value_bytes_max && !refusal; i++) {
      const reply = send({ type: 'write', key: `k${i}`, value: big });
      if (reply.type === 'write_ok') written++;
      else refusal = reply;
    }
    expect(refusal).toMatchObject({ type: 'error', code: 14 });
    expect(written * big.length).toBeLessThanOrEqual(service_store_bytes_max);
    expect(written * big.length).toBeGreaterThan(service_store_bytes_max / 2);
  });
});
