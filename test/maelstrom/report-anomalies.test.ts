import { describe, expect, it } from 'vitest';
import { anomaliesSection } from '../../src/maelstrom/report/anomalies.js';
import type { RunHistoryEntry, TestRunResult } from '../../src/maelstrom/run/result.js';
import { checkTxnLines } from '../../src/workloads/txn/check-file.js';

// The transactional anomalies in the report: each type's first cycle as a graph (a box per
// transaction, an arrow per edge, labelled with its kind) and its transactions on the timeline.

const entry = (client: string, value: unknown, result: unknown, call_ms: number, return_ms: number): RunHistoryEntry => ({ client, node: 'n0', f: 'txn', value, result, call_ms, return_ms, outcome: 'ok' });

describe("the report's anomalies section", () => {
  it('draws a G-single cycle: two boxes, an rw and a ww arrow with their reasons, two bars on the timeline', () => {
    const history = [
      entry('c1', [['append', 'x', 1], ['append', 'y', 1]], [['append', 'x', 1], ['append', 'y', 1]], 0, 5),
      entry('c2', [['r', 'x', null], ['r', 'y', null]], [['r', 'x', []], ['r', 'y', [1]]], 10, 15),
    ];
    const check = checkTxnLines(history, 'list-append', ['serializable'], 5000);
    expect(check.result).toBe('invalid');
    const result = { checks: [{ name: 'txn-list-append', result: 'invalid', text: check.text, details: check.details }], faults: [{ kind: 'partition', description: 'partition <b>', start_ms: 2, end_ms: 8, source: 'nemesis' }], end_ms: 20 } as unknown as TestRunResult;
    const html = anomaliesSection(result, history);
    const block = /<div class="anomaly" data-type="G-single">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
    expect(block.match(/<g class="cycle-txn">/g)).toHaveLength(2);
    expect(block.match(/<g class="cycle-edge" data-kind="rw">/g)).toHaveLength(1);
    expect(block.match(/<g class="cycle-edge" data-kind="(ww|wr)">/g)).toHaveLength(1);
    expect(block).toMatch(/T1 c2/);
    expect(block).toMatch(/T1 →rw T0<\/b>: T1 read &quot;x&quot; as \[\], without 1/);
    expect(block.match(/<rect class="timeline-txn"/g)).toHaveLength(2);
    // The fault is shaded behind, its words escaped.
    expect(block).toMatch(/<rect class="timeline-fault"[^>]*><title>partition &lt;b&gt;<\/title>/);
  });

  it('is empty for a run with no anomalies', () => {
    const history = [entry('c1', [['append', 'x', 1]], [['append', 'x', 1]], 0, 5)];
    const check = checkTxnLines(history, 'list-append', ['serializable'], 5000);
    const result = { checks: [{ name: 'txn-list-append', result: check.result, text: check.text, details: check.details }], faults: [], end_ms: 10 } as unknown as TestRunResult;
    expect(anomaliesSection(result, history)).toBe('');
  });
});
