import { describe, expect, it } from 'vitest';
import { countMisbehaviour, misbehaviour_report_interval_ms, newNodeRecord, nodeStatusOf } from '../../src/lib/supervisor/node-table.js';
import type { NodeLog } from '../../src/lib/supervisor/node-process.js';

const log = { note: () => undefined } as unknown as NodeLog;

describe('the node table', () => {
  it('counts every misbehaviour but reports one per kind per interval', () => {
    const node = newNodeRecord('n1', 'nodes', log);
    const t0 = 1_000_000;
    expect(countMisbehaviour(node, 'garbage', t0)).toBe(true);
    expect(countMisbehaviour(node, 'garbage', t0 + 1)).toBe(false);
    // Another kind has its own window.
    expect(countMisbehaviour(node, 'oversized', t0 + 2)).toBe(true);
    expect(countMisbehaviour(node, 'garbage', t0 + misbehaviour_report_interval_ms)).toBe(true);
    expect(node.problems).toEqual({ garbage: 3, oversized: 1, unknown_dest: 0, backpressure: 0 });
    expect(nodeStatusOf(node)).toMatchObject({ id: 'n1', group: 'nodes', status: 'starting', pid: null, garbage_lines: 3, oversized_lines: 1, unknown_dest: 0, backpressure_drops: 0 });
  });
});
