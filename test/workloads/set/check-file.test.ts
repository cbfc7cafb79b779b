import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dslab } from '../../helpers/cli.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

/** `dslab check FILE` picks the set or counter checker from the history's first line. */
const tempDir = tempDirs('dslab-check-file-');

function history(dir: string, name: string, lines: readonly object[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  return file;
}

describe('dslab check on the Maelstrom add/read workloads', () => {
  it('names a lost broadcast, and passes a g-set history where every element is read after healing', async () => {
    const dir = tempDir();
    const lost = history(dir, 'broadcast.jsonl', [
      { type: 'workload', workload: 'broadcast' },
      { client: 'c1', node: 'n1', f: 'add', value: 1, call_ms: 0, return_ms: 5, outcome: 'ok' },
      { client: 'c2', node: 'n2', f: 'add', value: 2, call_ms: 1, return_ms: 6, outcome: 'ok' },
      { client: 'c1', node: 'n1', f: 'read', result: [1, 2], call_ms: 10, return_ms: 12, outcome: 'ok' },
      { client: 'c3', node: 'n3', f: 'read', result: [1], call_ms: 100, return_ms: 102, outcome: 'ok', final: true },
    ]);
    const invalid = await dslab(dir, 'check', lost);
    expect(invalid.exitCode).not.toBe(0);
    expect(invalid.stdout + invalid.stderr).toMatch(/lost/);
    expect(invalid.stdout + invalid.stderr).toMatch(/\b2\b/);

    const fine = history(dir, 'g-set.jsonl', [
      { type: 'workload', workload: 'g-set' },
      { client: 'c1', node: 'n1', f: 'add', value: 'a', call_ms: 0, return_ms: 5, outcome: 'ok' },
      { client: 'c2', node: 'n2', f: 'read', result: ['a'], call_ms: 100, return_ms: 101, outcome: 'ok', final: true },
    ]);
    const valid = await dslab(dir, 'check', fine);
    expect(valid.stderr).toBe('');
    expect(valid.exitCode).toBe(0);
    expect(valid.stdout).toMatch(/valid/);
  });

  it('refuses a pn-counter final read outside what the acknowledged and unknown adds allow', async () => {
    const dir = tempDir();
    const file = history(dir, 'pn.jsonl', [
      { type: 'workload', workload: 'pn-counter' },
      { client: 'c1', node: 'n1', f: 'add', value: 5, call_ms: 0, return_ms: 5, outcome: 'ok' },
      { client: 'c2', node: 'n2', f: 'add', value: -2, call_ms: 1, return_ms: null, outcome: 'unknown' },
      { client: 'c3', node: 'n3', f: 'read', result: 4, call_ms: 100, return_ms: 102, outcome: 'ok', final: true },
    ]);
    const result = await dslab(dir, 'check', file);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/4/);
  });
});
