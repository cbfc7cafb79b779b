import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkZkHistory } from '../../src/workloads/zk/checker.js';
import { checkZkFile } from '../../src/workloads/zk/check-file.js';
import { parseZkHistory, type HistoryStat, type ZkOperation } from '../../src/workloads/zk/history.js';
import { historyWorkload } from '../../src/lib/history-header.js';
import { dslab, repo_root } from '../helpers/cli.js';

const fixture_dir = path.join(repo_root, 'test', 'fixtures');
import { parseHistory } from '../../src/workloads/lin-kv/history.js';

const P = '/t/p0';
const stat = (czxid: string, mzxid: string, version: number): HistoryStat => ({ czxid, mzxid, pzxid: czxid, version });
let line = 0;
const op = (fields: Partial<ZkOperation> & Pick<ZkOperation, 'f' | 'call_ms'>): ZkOperation => ({
  client: 'c1',
  session: 's1',
  path: P,
  outcome: 'ok',
  return_ms: fields.outcome === 'unknown' ? null : fields.call_ms + 1,
  line: ++line,
  ...fields,
});
const check = (ops: ZkOperation[]) => checkZkHistory(ops, { timeout_ms: 5000 });

describe('znode checker: writes', () => {
  it('accepts a create, versioned sets and a delete in order', () => {
    const r = check([
      op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:1', '1:1', 0) }),
      op({ f: 'set_data', data: 'b', version: 0, call_ms: 10, stat: stat('1:1', '1:2', 1) }),
      op({ f: 'set_data', data: 'c', version: 0, call_ms: 20, outcome: 'fail', error: 'BadVersion' }),
      op({ f: 'delete', version: 1, call_ms: 30 }),
      op({ f: 'delete', call_ms: 40, outcome: 'fail', error: 'NoNode' }),
    ]);
    expect(r.result).toBe('valid');
    expect(r.writes_checked).toBe(5);
  });

  it('rejects a BadVersion for the version the znode was at', () => {
    const r = check([
      op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:1', '1:1', 0) }),
      op({ f: 'set_data', data: 'b', version: 0, call_ms: 10, outcome: 'fail', error: 'BadVersion' }),
    ]);
    expect(r.result).toBe('invalid');
    expect(r.violation).toMatchObject({ kind: 'linearizable', key: P });
  });

  it('rejects two creates that both succeeded with no delete between', () => {
    const r = check([
      op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:1', '1:1', 0) }),
      op({ f: 'create', data: 'b', call_ms: 10, client: 'c2', session: 's2', stat: stat('1:2', '1:2', 0) }),
    ]);
    expect(r.result).toBe('invalid');
  });

  it('lets an unknown delete explain a second create, and only when it came before it', () => {
    const create2 = (call_ms: number) => op({ f: 'create', data: 'b', call_ms, client: 'c2', session: 's2', stat: stat('1:3', '1:3', 0) });
    const first = op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:1', '1:1', 0) });
    const lost = op({ f: 'delete', call_ms: 5, outcome: 'unknown', client: 'c3', session: 's3' });
    expect(check([first, lost, create2(10)]).result).toBe('valid');
    // The delete was called after the second create returned: it cannot have made room for it.
    expect(check([first, { ...lost, call_ms: 20 }, create2(10)]).result).toBe('invalid');
  });

  it('rejects writes whose zxids run against real time', () => {
    const r = check([
      op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:5', '1:5', 0) }),
      op({ f: 'set_data', data: 'b', call_ms: 10, client: 'c2', session: 's2', stat: stat('1:5', '1:4', 1) }),
    ]);
    expect(r.result).toBe('invalid');
  });

  it('orders concurrent writes whichever way fits', () => {
    // Both sets overlap; the second to return went first (version 1), the first went second (version 2).
    const r = check([
      op({ f: 'create', data: 'a', call_ms: 0, stat: stat('1:1', '1:1', 0) }),
      op({ f: 'set_data', data: 'b', call_ms: 10, return_ms: 30, stat: stat('1:1', '1:3', 2) }),
      op({ f: 'set_data', data: 'c', call_ms: 11, return_ms: 40, client: 'c2', session: 's2', stat: stat('1:1', '1:2', 1) }),
    ]);
    expect(r.result).toBe('valid');
  });
});

describe('znode checker: each session\'s reads', () => {
  const writes = [
    op({ f: 'create', data: 'a', call_ms: 0, client: 'w', session: 'sw', stat: stat('1:1', '1:1', 0) }),
    op({ f: 'set_data', data: 'b', call_ms: 10, client: 'w', session: 'sw', stat: stat('1:1', '1:2', 1) }),
  ];
  const read = (call_ms: number, data: string, s: HistoryStat, session = 'sr') => op({ f: 'get_data', data, call_ms, client: 'r', session, stat: s });

  it('accepts a session reading a stale value (reads are served locally) as long as it never goes back', () => {
    // Called long after the set returned, yet still sees the create: a lagging server, allowed.
    expect(check([...writes, read(100, 'a', stat('1:1', '1:1', 0)), read(110, 'b', stat('1:1', '1:2', 1))]).result).toBe('valid');
  });

  it('rejects a session that sees the new value and then the old one (only the read order makes it invalid)', () => {
    const ops = [...writes, read(100, 'b', stat('1:1', '1:2', 1)), read(110, 'a', stat('1:1', '1:1', 0))];
    const r = check(ops);
    expect(r.result).toBe('invalid');
    expect(r.violation).toMatchObject({ kind: 'session', key: 'sr' });
    // The same two reads in two sessions are fine: each session on its own moves forward.
    expect(check([...writes, read(100, 'b', stat('1:1', '1:2', 1)), read(110, 'a', stat('1:1', '1:1', 0), 'sx')]).result).toBe('valid');
  });

  it('rejects a session that reads older data after its own write', () => {
    const ops = [...writes, op({ f: 'set_data', data: 'c', call_ms: 20, client: 'r', session: 'sr', stat: stat('1:1', '1:3', 2) }), read(30, 'b', stat('1:1', '1:2', 1))];
    expect(check(ops).violation).toMatchObject({ kind: 'session' });
  });

  it('rejects a read whose data is not what the write with its mzxid wrote', () => {
    expect(check([...writes, read(100, 'zzz', stat('1:1', '1:2', 1))]).violation).toMatchObject({ kind: 'session' });
  });

  it('rejects a session seeing a znode absent after it saw it at a zxid it surely existed until', () => {
    const absent = op({ f: 'exists', call_ms: 120, client: 'r', session: 'sr', stat: null });
    expect(check([...writes, read(100, 'b', stat('1:1', '1:2', 1)), absent]).result).toBe('invalid');
    // Once a delete may have happened, absence is a newer state.
    const del = op({ f: 'delete', call_ms: 50, client: 'w', session: 'sw' });
    expect(check([...writes, del, read(100, 'b', stat('1:1', '1:2', 1)), absent]).result).toBe('valid');
  });
});

describe('zk history files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zkcheck-'));
  const write = (name: string, lines: unknown[]) => {
    const file = path.join(dir, name);
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return file;
  };
  const header = { type: 'workload', workload: 'zk' };
  const znodes = { type: 'znodes', parent: '/t', paths: [P], fresh: true };
  const line = (fields: Record<string, unknown>) => ({ client: 'c1', session: 's1', path: P, outcome: 'ok', ...fields });

  it('names its workload on its first line, and a file without one is lin-kv\'s', () => {
    expect(historyWorkload(write('a.jsonl', [header, znodes]))).toBe('zk');
    expect(historyWorkload(write('b.jsonl', [{ client: 'c1', f: 'read', key: 'k', call_ms: 0, return_ms: 1, outcome: 'ok', result: null }]))).toBe('lin-kv');
  });

  it('a key-value history may name its workload too: the line records no operation', () => {
    const parsed = parseHistory([JSON.stringify({ type: 'workload', workload: 'lin-kv' }), JSON.stringify({ client: 'c1', f: 'read', key: 'k', call_ms: 0, return_ms: 1, outcome: 'ok', result: null })].join('\n'));
    expect(parsed.ops).toHaveLength(1);
  });

  it('checks a file end to end, valid and invalid', () => {
    const create = line({ f: 'create', data: 'a', call_ms: 0, return_ms: 1, stat: stat('1:1', '1:1', 0) });
    expect(checkZkFile(write('ok.jsonl', [header, znodes, create]), 1000)).toMatchObject({ result: 'valid' });
    const bad = checkZkFile(write('bad.jsonl', [header, znodes, create, line({ f: 'create', data: 'b', call_ms: 5, return_ms: 6, stat: stat('1:2', '1:2', 0) })]), 1000);
    expect(bad.result).toBe('invalid');
    expect(bad.text).toMatch(/^invalid: writes on \/t\/p0 are not linearizable/);
  });

  it('finds the duplicated txn of a real run: a set_data applied twice lets a delete at version 2 succeed', () => {
    // From `dslab zk load` under the nemesis (a duplicate fault was in force): one set_data applied at two zxids, 1:11 and 1:12.
    const result = checkZkFile(path.join(fixture_dir, 'zk-duplicated-request.jsonl'), 1000);
    expect(result.result).toBe('invalid');
    expect(result.text).toMatch(/line 7: c2004 \(s1\.4 on n1\) delete \/zl-c2d6450b\/p3 version 2 → ok/);
  });

  it('refuses a malformed line naming it', () => {
    expect(() => parseZkHistory(JSON.stringify(header) + '\n' + JSON.stringify(line({ f: 'set_data', call_ms: 0, return_ms: 1, outcome: 'fail' })))).toThrow(/history line 2: .*error/);
  });

  it('dslab check runs the checker the history names: zk\'s here, and refuses a workload it does not know', async () => {
    const create = line({ f: 'create', data: 'a', call_ms: 0, return_ms: 1, stat: stat('1:1', '1:1', 0) });
    const valid = await dslab(dir, 'check', write('cli-ok.jsonl', [header, znodes, create]));
    expect(valid.exitCode).toBe(0);
    expect(valid.stdout).toMatch(/^valid: writes linearizable, each session's reads sequentially consistent \(1 writes on 1 znodes/);
    const invalid = await dslab(dir, 'check', write('cli-bad.jsonl', [header, znodes, create, line({ f: 'set_data', data: 'b', version: 3, call_ms: 5, return_ms: 6, stat: stat('1:1', '1:2', 1) })]));
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stdout).toMatch(/^invalid: writes on \/t\/p0 are not linearizable/);
    const unknown = await dslab(dir, 'check', write('cli-other.jsonl', [{ type: 'workload', workload: 'nope' }]));
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^dslab: .*names workload nope, which dslab does not have/);
  }, 30_000);
});
