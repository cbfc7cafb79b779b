import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSetHistory, readSetHistoryFile, checkSet } from '../../../src/workloads/set/checker.js';
import { fileLines } from '../../../src/lib/history-lines.js';
import { UserError } from '../../../src/lib/util/errors.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'dslab-set-history-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const errorOf = (text: string) => {
  try {
    parseSetHistory(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('expected the history to be refused');
};

describe('set history lines', () => {
  it('parses adds and reads, skipping blank lines and the workload line, keeping line numbers', () => {
    const text = [
      '{"type":"workload","workload":"broadcast"}',
      '',
      '{"client":"c3","node":"n2","f":"add","value":17,"call_ms":1,"return_ms":2.5,"outcome":"ok"}',
      '   ',
      '{"client":"c1","node":"n1","f":"read","result":[17],"call_ms":3,"return_ms":4,"outcome":"ok","final":true}',
      '{"client":"c2","f":"add","value":18,"call_ms":3,"return_ms":9,"outcome":"unknown"}',
      '{"client":"c2","f":"read","call_ms":10,"return_ms":null,"outcome":"unknown"}',
    ].join('\n');
    expect(parseSetHistory(text)).toEqual([
      { client: 'c3', f: 'add', value: 17, call_ms: 1, return_ms: 2.5, outcome: 'ok', line: 3 },
      { client: 'c1', f: 'read', result: [17], call_ms: 3, return_ms: 4, outcome: 'ok', final: true, line: 5 },
      // An unknown outcome's return is ignored.
      { client: 'c2', f: 'add', value: 18, call_ms: 3, return_ms: null, outcome: 'unknown', line: 6 },
      { client: 'c2', f: 'read', call_ms: 10, return_ms: null, outcome: 'unknown', final: false, line: 7 },
    ]);
  });

  it('refuses a bad line with one line naming its number and what is wrong', () => {
    expect(errorOf('\n{"client":"c1","f":"add","value":1,"call_ms":1,"return_ms":2,"outcome":"ok"}\n{oops')).toBe('history line 3: not valid JSON: {oops');
    expect(errorOf('{"client":"c1","f":"write","value":1,"call_ms":1,"return_ms":2,"outcome":"ok"}')).toBe('history line 1: "f" must be add or read (got "write")');
    expect(errorOf('{"client":"c1","f":"read","result":3,"call_ms":1,"return_ms":2,"outcome":"ok"}')).toBe('history line 1: "result" of an ok read must be an array of the elements read');
    expect(errorOf('{"client":"c1","f":"add","call_ms":1,"return_ms":2,"outcome":"ok"}')).toBe('history line 1: an add needs "value": the element added');
    expect(errorOf('{"client":"c1","f":"add","value":1,"call_ms":5,"return_ms":2,"outcome":"ok"}')).toBe('history line 1: "return_ms" (2) is before "call_ms" (5)');
    expect(errorOf('{"client":"c1","f":"read","result":[],"call_ms":1,"return_ms":2,"outcome":"ok","final":"yes"}')).toBe('history line 1: "final" must be true or false');
    expect(errorOf('{"client":"c1","f":"add","value":1,"call_ms":1,"return_ms":2,"outcome":"maybe"}')).toBe('history line 1: "outcome" must be one of ok, fail, unknown (got "maybe")');
    expect(errorOf('[1]')).toBe('history line 1: expected a JSON object');
  });

  it('reads a file a chunk at a time, lines crossing chunk boundaries included, with the same result as the text', () => {
    const lines = ['{"type":"workload","workload":"g-set"}'];
    const elements: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      lines.push(JSON.stringify({ client: `c${i % 5}`, f: 'add', value: i, call_ms: i, return_ms: i + 1, outcome: 'ok' }));
      elements.push(i);
      // Long reads (several kilobytes each), so lines straddle the 1 MiB chunks.
      if (i % 4 === 3) lines.push(JSON.stringify({ client: 'c9', f: 'read', result: elements, call_ms: i + 2, return_ms: i + 3, outcome: 'ok', final: i === 1_999 }));
    }
    const text = lines.join('\n') + '\n';
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    const file = path.join(scratch, 'g-set.jsonl');
    writeFileSync(file, text);
    const fromFile = readSetHistoryFile(file);
    expect(fromFile).toEqual(parseSetHistory(text));
    expect(checkSet(fromFile).result).toBe('valid');
    // The text ends with a newline: no empty line after it.
    expect([...fileLines(file)]).toEqual(lines);
  });

  it('says when the file cannot be read', () => {
    expect(() => readSetHistoryFile(path.join(scratch, 'missing.jsonl'))).toThrow(/cannot read history file .*missing\.jsonl/);
  });
});
