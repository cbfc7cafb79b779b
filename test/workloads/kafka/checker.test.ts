import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/lib/util/prng.js';
import { checkKafkaFile, checkKafkaRecords, type KafkaAnomalyKind, type KafkaCheckDetails } from '../../../src/workloads/kafka/checker.js';
import { kafka_workload } from '../../../src/workloads/kafka/plugin.js';
import { workloads } from '../../../src/registry.js';

type Outcome = 'ok' | 'fail' | 'unknown';
type Line = Record<string, unknown>;

let clock = 0;
/** Operations one after another unless times are given. */
function times(call?: number, ret?: number): { call_ms: number; return_ms: number } {
  const call_ms = call ?? (clock += 10);
  return { call_ms, return_ms: ret ?? call_ms + 5 };
}
function send(client: string, key: string, msg: unknown, offset: number | null, outcome: Outcome = 'ok', call?: number, ret?: number): Line {
  const t = times(call, ret);
  return { client, node: 'n1', f: 'send', value: { key, msg }, ...(outcome === 'ok' ? { result: offset } : {}), call_ms: t.call_ms, return_ms: outcome === 'unknown' ? null : t.return_ms, outcome };
}
function poll(client: string, msgs: Record<string, [number, unknown][]>, outcome: Outcome = 'ok', call?: number, ret?: number): Line {
  const t = times(call, ret);
  return { client, node: 'n1', f: 'poll', value: { offsets: {} }, result: msgs, call_ms: t.call_ms, return_ms: outcome === 'unknown' ? null : t.return_ms, outcome };
}
function assign(client: string, keys: string[], committed?: Record<string, number>, call?: number, ret?: number): Line {
  const t = times(call, ret);
  return { client, node: 'n1', f: 'assign', value: { keys }, result: { ...(committed ? { committed } : {}), positions: {} }, ...t, outcome: 'ok' };
}

function check(lines: Line[]) {
  const result = checkKafkaRecords(lines);
  const details = result.details as KafkaCheckDetails;
  const counts = Object.fromEntries(details.anomalies.map((a) => [a.kind, a.count])) as Partial<Record<KafkaAnomalyKind, number>>;
  return { result, details, counts };
}

describe('the kafka checker on hand-written histories', () => {
  it('passes a clean history: every acknowledged send polled in order', () => {
    const { result, counts } = check([send('c1', '1', 1, 0), send('c1', '1', 2, 1), poll('c2', { '1': [[0, 1], [1, 2]] }), send('c1', '1', 3, 2), poll('c2', { '1': [[2, 3]] })]);
    expect(counts).toEqual({});
    expect(result.result).toBe('valid');
    expect(result.text).toMatch(/all 3 acknowledged sends were polled/);
  });

  it('finds a lost write: offset 1 never polled though offset 2 was (and counts it unseen)', () => {
    const { result, counts, details } = check([send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), send('c1', 'a', 3, 2), poll('c2', { a: [[0, 1]] }), poll('c3', { a: [[2, 3]] })]);
    expect(result.result).toBe('invalid');
    expect(counts['lost-write']).toBe(1);
    expect(counts.unseen).toBe(1);
    expect(counts['poll-skip']).toBeUndefined();
    expect(details.anomalies.find((a) => a.kind === 'lost-write')!.examples[0]).toMatch(/key "a": msg 2 at offset 1 .*never polled, though offset 2 was/);
    expect(result.text).toMatch(/Any of these makes the run invalid, as in Maelstrom/);
    // The first line is what the verdict's headline shows.
    expect(result.text.split('\n')[0]).toBe('1 lost write, 1 unseen message (in 3 acknowledged sends and 2 ok polls)');
  });

  it('counts as unseen, not lost, acknowledged messages beyond every read', () => {
    const { counts } = check([send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), poll('c2', { a: [[0, 1]] })]);
    expect(counts).toEqual({ unseen: 1 });
  });

  it('does not count an unacknowledged send as lost', () => {
    const { counts } = check([send('c1', 'a', 1, 0), send('c5', 'a', 2, null, 'unknown'), send('c1', 'a', 3, 2), poll('c2', { a: [[0, 1], [1, 2], [2, 3]] }), poll('c3', { a: [[2, 3]] })]);
    expect(counts).toEqual({});
    const { counts: missed } = check([send('c1', 'a', 1, 0), send('c5', 'a', 2, null, 'unknown'), send('c1', 'a', 3, 2), poll('c3', { a: [[0, 1], [2, 3]] })]);
    // Offset 1 is not known to exist, so reading 0 then 2 skips nothing known.
    expect(missed).toEqual({});
  });

  it('finds a duplicate: one message at two offsets', () => {
    const { counts, details } = check([send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), poll('c2', { a: [[0, 1], [1, 2], [2, 1]] })]);
    expect(counts.duplicate).toBe(1);
    expect(details.anomalies.find((a) => a.kind === 'duplicate')!.examples[0]).toBe('key "a": msg 1 at offsets 0, 2');
  });

  it('finds inconsistent offsets: two messages given one offset', () => {
    const { counts, details } = check([send('c1', 'a', 1, 0), send('c2', 'a', 2, 0), poll('c3', { a: [[0, 1]] })]);
    expect(counts['inconsistent-offsets']).toBe(1);
    expect(details.anomalies.find((a) => a.kind === 'inconsistent-offsets')!.examples[0]).toBe('key "a" offset 0 held 1 and 2');
  });

  it('finds aborted reads, phantom reads and future reads', () => {
    const aborted = check([send('c1', 'a', 5, null, 'fail'), poll('c2', { a: [[0, 5]] })]);
    expect(aborted.counts['aborted-read']).toBe(1);
    const phantom = check([send('c1', 'a', 1, 0), poll('c2', { a: [[0, 1], [1, 99]] })]);
    expect(phantom.counts['phantom-read']).toBe(1);
    const future = check([poll('c2', { a: [[0, 1]] }, 'ok', 10, 20), send('c1', 'a', 1, 0, 'ok', 100, 110)]);
    expect(future.counts['future-read']).toBe(1);
    // Concurrent with its send: fine.
    expect(check([poll('c2', { a: [[0, 1]] }, 'ok', 10, 200), send('c1', 'a', 1, 0, 'ok', 100, 300)]).counts).toEqual({});
  });

  it('finds offsets going backwards or skipping within one poll', () => {
    const back = check([send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), poll('c2', { a: [[1, 2], [0, 1]] })]);
    expect(back.counts['int-nonmonotonic-poll']).toBe(1);
    const skip = check([send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), send('c1', 'a', 3, 2), poll('c2', { a: [[0, 1], [2, 3]] }), poll('c3', { a: [[1, 2]] })]);
    expect(skip.counts).toEqual({ 'int-poll-skip': 1 });
    expect(skip.details.anomalies[0]!.examples[0]).toMatch(/skipping offset 1$/);
  });

  it('finds a consumer polling backwards or skipping between polls, but not across an assign that dropped the key or a crash', () => {
    const base = [send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), send('c1', 'a', 3, 2)];
    const back = check([...base, poll('c2', { a: [[0, 1], [1, 2]] }), poll('c2', { a: [[1, 2], [2, 3]] })]);
    expect(back.counts['nonmonotonic-poll']).toBe(1);
    const skip = check([...base, poll('c2', { a: [[0, 1]] }), poll('c2', { a: [[2, 3]] }), poll('c3', { a: [[1, 2]] })]);
    expect(skip.counts).toEqual({ 'poll-skip': 1 });
    const reassigned = check([...base, poll('c2', { a: [[0, 1], [1, 2]] }), assign('c2', ['b']), assign('c2', ['a']), poll('c2', { a: [[0, 1]] })]);
    expect(reassigned.counts).toEqual({ unseen: 1 });
    const kept = check([...base, poll('c2', { a: [[0, 1], [1, 2]] }), assign('c2', ['a', 'b']), poll('c2', { a: [[0, 1]] })]);
    expect(kept.counts['nonmonotonic-poll']).toBe(1);
    const crashed = check([...base, poll('c2', { a: [[0, 1], [1, 2]] }), { client: 'c2', node: 'n1', f: 'crash', call_ms: 900, return_ms: null, outcome: 'unknown' }, poll('c2', { a: [[0, 1], [1, 2], [2, 3]] })]);
    expect(crashed.counts).toEqual({});
  });

  it("follows a consumer past a poll whose commit then failed (its client moved on): no skip", () => {
    const base = [send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), send('c1', 'a', 3, 2)];
    // c3 reads offset 1 too: a failed poll's messages say what the log held, but count as no one's read.
    expect(check([...base, poll('c2', { a: [[0, 1]] }), poll('c2', { a: [[1, 2]] }, 'fail'), poll('c2', { a: [[2, 3]] }), poll('c3', { a: [[1, 2]] })]).counts).toEqual({});
  });

  it('finds a client whose sends go backwards', () => {
    const { counts, details } = check([send('c1', 'a', 1, 5), send('c1', 'a', 2, 3), poll('c2', { a: [[3, 2], [5, 1]] })]);
    expect(counts['nonmonotonic-send']).toBe(1);
    expect(details.anomalies.find((a) => a.kind === 'nonmonotonic-send')!.examples[0]).toMatch(/c1 sent to key "a" and got offset 5 .* then offset 3/);
  });

  it('measures the worst real-time lag from when the next offset was known to exist', () => {
    const { details, result } = check([send('c1', 'a', 1, 0, 'ok', 0, 100), send('c1', 'a', 2, 1, 'ok', 150, 200), poll('c2', { a: [[0, 1]] }, 'ok', 500, 510), poll('c2', { a: [[1, 2]] }, 'ok', 600, 610)]);
    expect(details.worst_realtime_lag).toEqual({ lag_ms: 300, key: 'a', client: 'c2', at_ms: 500 });
    expect(result.result).toBe('valid');
    expect(result.text).toMatch(/worst real-time lag 300ms \(c2 polling key "a" at 0\.5 s; reported, not judged\)/);
  });

  it('reports, without judging, committed offsets ahead of every commit asked', () => {
    const base = [send('c1', 'a', 1, 0, 'ok', 0, 5), send('c1', 'a', 2, 1, 'ok', 10, 15), send('c1', 'a', 3, 2, 'ok', 20, 25), send('c1', 'a', 4, 3, 'ok', 30, 35)];
    // c2 polled (and so asked to commit) up to offset 1 before c3's assign.
    const polled = [poll('c2', { a: [[0, 1], [1, 2]] }, 'ok', 40, 45), poll('c4', { a: [[0, 1], [1, 2], [2, 3], [3, 4]] }, 'ok', 200, 205)];
    const ahead = check([...base, ...polled, assign('c3', ['a'], { a: 3 }, 100, 110)]);
    expect(ahead.result.result).toBe('valid');
    expect(ahead.counts).toEqual({ 'committed-ahead': 1 });
    expect(ahead.details.bad_kinds).toEqual([]);
    expect(ahead.result.text).toMatch(/c3's assign at 0\.1 s was told key "a" was committed up to offset 3, but clients had asked to commit only up to offset 1 \(reported, not judged/);
    // Starting at the offset after the last one committed passes nothing over.
    expect(check([...base, ...polled, assign('c3', ['a'], { a: 2 }, 100, 110)]).counts).toEqual({});
    // A commit asked while the assign was under way may already count.
    expect(check([...base, polled[0]!, poll('c5', { a: [[2, 3]] }, 'ok', 104, 120), assign('c3', ['a'], { a: 3 }, 100, 110), polled[1]!]).counts).toEqual({});
    // Nothing committed: 0 is where every client starts anyway; 2 passes over offsets 0 and 1.
    expect(check([...base, ...polled, assign('c3', ['b'], { b: 0 }, 30, 31)]).counts).toEqual({});
    expect(check([...base, assign('c3', ['a'], { a: 2 }, 36, 37), ...polled]).counts).toEqual({ 'committed-ahead': 1 });
  });

  it('reports, without judging, a key whose acknowledged commit an assign was not told of', () => {
    const base = [send('c1', 'a', 1, 0, 'ok', 0, 5), send('c1', 'b', 1, 0, 'ok', 10, 15)];
    // c2's poll of "a" ended (its commit acknowledged) at 45: an assign begun after that must hear of "a".
    const polled = poll('c2', { a: [[0, 1]], b: [] }, 'ok', 40, 45);
    const read_b = poll('c4', { b: [[0, 1]] }, 'ok', 60, 65);
    const lost = check([...base, polled, assign('c3', ['a', 'b'], {}, 50, 55), read_b]);
    expect(lost.result.result).toBe('valid');
    expect(lost.counts).toEqual({ 'committed-lost': 1 });
    expect(lost.details.bad_kinds).toEqual([]);
    expect(lost.result.text).toMatch(/c3's assign at 0\.1 s was told nothing was committed on key "a", but a commit of it had been acknowledged at 0\.0 s \(reported, not judged/);
    // Told of it (any offset: Maelstrom lets committed offsets go backwards), or asked before the commit was acknowledged: nothing lost.
    expect(check([...base, polled, assign('c3', ['a'], { a: 0 }, 50, 55), read_b]).counts).toEqual({});
    expect(check([...base, polled, assign('c3', ['a'], {}, 44, 50), read_b]).counts).toEqual({});
    // A poll whose commit failed acknowledged nothing.
    expect(check([...base, poll('c2', { a: [[0, 1]] }, 'fail', 40, 45), poll('c4', { a: [[0, 1]], b: [[0, 1]] }, 'ok', 60, 65), assign('c3', ['a'], {}, 50, 55)]).counts).toEqual({});
  });

  it('is unknown when nothing was acknowledged or read', () => {
    const { result } = check([send('c1', 'a', 1, null, 'unknown'), poll('c2', {}, 'fail')]);
    expect(result.result).toBe('unknown');
  });

  it('refuses a malformed line with its line number, and checks a file as `dslab check` does', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dslab-kafka-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'history.jsonl');
    const lines = [{ type: 'workload', workload: 'kafka' }, send('c1', 'a', 1, 0), send('c1', 'a', 2, 1), send('c1', 'a', 3, 2), poll('c2', { a: [[0, 1]] }), poll('c3', { a: [[2, 3]] })];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const fromFile = checkKafkaFile(file);
    expect(fromFile.result).toBe('invalid');
    expect((fromFile.details as KafkaCheckDetails).anomalies.map((a) => a.kind)).toEqual(['lost-write', 'unseen']);
    expect(kafka_workload.checkFile!(file, 10_000).result).toBe('invalid');
    expect(workloads.some((w) => w.name === 'kafka')).toBe(true);
    writeFileSync(file, JSON.stringify({ type: 'workload', workload: 'kafka' }) + '\n' + JSON.stringify({ ...send('c1', 'a', 1, 0), result: 'x' }) + '\n');
    expect(() => checkKafkaFile(file)).toThrow(/history line 2: an ok send's "result" must be the whole-number offset/);
  });
});

/**
 * The log anomalies computed the slow, obvious way (every pair against every pair) on small random
 * histories, against the checker.
 */
function naive(lines: Line[]) {
  const pairs: { key: string; offset: number; msg: number }[] = [];
  const read: { key: string; msg: number }[] = [];
  const sends = lines.filter((l) => l.f === 'send');
  for (const l of lines) {
    if (l.f === 'send' && l.outcome === 'ok') pairs.push({ key: (l.value as { key: string }).key, offset: l.result as number, msg: (l.value as { msg: number }).msg });
    if (l.f === 'poll')
      for (const [key, list] of Object.entries(l.result as Record<string, [number, number][]>))
        for (const [offset, msg] of list) {
          pairs.push({ key, offset, msg });
          if (l.outcome === 'ok') read.push({ key, msg });
        }
  }
  const keys = [...new Set(pairs.map((p) => p.key))];
  let inconsistent = 0;
  let duplicate = 0;
  let lost = 0;
  for (const key of keys) {
    const here = pairs.filter((p) => p.key === key);
    const offsets = [...new Set(here.map((p) => p.offset))];
    for (const o of offsets) if (new Set(here.filter((p) => p.offset === o).map((p) => p.msg)).size > 1) inconsistent++;
    const msgs = [...new Set(here.map((p) => p.msg))];
    const offsetsOf = (m: number) => [...new Set(here.filter((p) => p.msg === m).map((p) => p.offset))];
    for (const m of msgs) if (offsetsOf(m).length > 1) duplicate++;
    const wasRead = (m: number) => read.some((r) => r.key === key && r.msg === m);
    const bound = Math.max(-1, ...msgs.filter(wasRead).map((m) => Math.min(...offsetsOf(m))));
    for (const m of msgs) {
      if (wasRead(m) || Math.max(...offsetsOf(m)) > bound) continue;
      const sender = sends.find((s) => (s.value as { key: string }).key === key && (s.value as { msg: number }).msg === m);
      if (sender?.outcome === 'ok') lost++;
    }
  }
  const unseen = sends.filter((s) => s.outcome === 'ok' && !read.some((r) => r.key === (s.value as { key: string }).key && r.msg === (s.value as { msg: number }).msg)).length;
  // Order: how many known offsets of the key lie strictly between two offsets read one after the other.
  const knownBetween = (key: string, from: number, to: number) => new Set(pairs.filter((p) => p.key === key && p.offset > from && p.offset < to).map((p) => p.offset)).size;
  const order = { int_skip: 0, int_back: 0, skip: 0, back: 0 };
  const judge = (key: string, from: number, to: number, skip: 'int_skip' | 'skip', back: 'int_back' | 'back') => {
    if (to <= from) order[back]++;
    else if (knownBetween(key, from, to) > 0) order[skip]++;
  };
  const lastRead = new Map<string, Map<string, number>>();
  for (const l of lines) {
    if (l.outcome === 'unknown') lastRead.delete(l.client as string);
    if (l.f !== 'poll' || l.outcome === 'unknown') continue;
    const mine = lastRead.get(l.client as string) ?? new Map<string, number>();
    lastRead.set(l.client as string, mine);
    for (const [key, list] of Object.entries(l.result as Record<string, [number, number][]>)) {
      for (let i = 1; i < list.length; i++) judge(key, list[i - 1]![0], list[i]![0], 'int_skip', 'int_back');
      if (list.length > 0 && mine.has(key)) judge(key, mine.get(key)!, list[0]![0], 'skip', 'back');
      if (list.length > 0) mine.set(key, list[list.length - 1]![0]);
    }
  }
  return { inconsistent, duplicate, lost, unseen, ...order };
}

describe('the kafka checker against a brute-force scan', () => {
  it('agrees on lost writes, unseen messages, duplicates, inconsistent offsets and polls out of order over 2000 small random histories', () => {
    const rng = createRng(20261207);
    let anomalous = 0;
    for (let round = 0; round < 2000; round++) {
      const lines: Line[] = [];
      const keys = ['a', 'b'];
      for (let i = 0; i < 4 + rng.int(10); i++) {
        const key = rng.pick(keys);
        if (rng.int(2) === 0) {
          const outcome = rng.pick<Outcome>(['ok', 'ok', 'ok', 'fail', 'unknown']);
          lines.push(send(`c${rng.int(3)}`, key, rng.int(6), outcome === 'ok' ? rng.int(6) : null, outcome));
        } else {
          const list: [number, number][] = [];
          for (let j = 0; j < rng.int(4); j++) list.push([rng.int(6), rng.int(6)]);
          lines.push(poll(`c${rng.int(3)}`, { [key]: list }, rng.pick<Outcome>(['ok', 'ok', 'fail'])));
        }
      }
      const { counts } = check(lines);
      const expected = naive(lines);
      const got = {
        inconsistent: counts['inconsistent-offsets'] ?? 0,
        duplicate: counts.duplicate ?? 0,
        lost: counts['lost-write'] ?? 0,
        unseen: counts.unseen ?? 0,
        int_skip: counts['int-poll-skip'] ?? 0,
        int_back: counts['int-nonmonotonic-poll'] ?? 0,
        skip: counts['poll-skip'] ?? 0,
        back: counts['nonmonotonic-poll'] ?? 0,
      };
      if (got.lost + got.duplicate + got.inconsistent > 0 && got.skip + got.back > 0) anomalous++;
      expect(got, JSON.stringify(lines)).toEqual(expected);
    }
    // The random histories did exercise the anomalies.
    expect(anomalous).toBeGreaterThan(100);
  });
});
