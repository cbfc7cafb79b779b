import { describe, expect, it } from 'vitest';
import { parseTestArgs } from '../../src/maelstrom/options.js';
import { describeTestPlan } from '../../src/maelstrom/plan-text.js';

function describe_(argv: string[]): string[] {
  const parsed = parseTestArgs(argv);
  if (parsed.kind !== 'plan') throw new Error('expected a plan');
  return describeTestPlan(parsed.plan);
}

describe('the plan in words', () => {
  it('the efficiency challenge: every setting the run will use', () => {
    const lines = describe_('-w broadcast --bin ./node --node-count 25 --time-limit 20 --rate 100 --latency 100 --nemesis partition --topology tree4'.split(' '));
    expect(lines).toEqual([
      'workload      broadcast',
      'binary        ./node',
      'nodes         25: n0 n1 … n24',
      'clients       25',
      'time limit    20s, then heal, wait 10s and read once per client',
      'rate          100 requests/s',
      'latency       100ms constant between nodes and to services (none to clients)',
      'nemesis       partition, about every 10s',
      'topology      tree4',
      'availability  not checked',
    ]);
  });

  it('echo with defaults: no final phase, no topology, no transaction settings', () => {
    const lines = describe_(['-w', 'echo', '--bin', 'python3', 'my node.py', '--log-stderr']);
    expect(lines).toContain("binary        python3 'my node.py'");
    expect(lines).toContain('nodes         5: n1 n2 n3 n4 n5');
    expect(lines).toContain('time limit    1m');
    expect(lines).toContain('latency       none');
    expect(lines).toContain("log           nodes' stderr");
    expect(lines.some((line) => /^(topology|consistency|keys|runs) /.test(line))).toBe(false);
  });

  it('transactional workloads show their models and key settings; repeated runs say they stop early', () => {
    const lines = describe_('-w txn-rw-register --bin ./n --consistency-models read-committed --key-count 3 --availability total --test-count 3'.split(' '));
    expect(lines).toContain('consistency   read-committed');
    expect(lines).toContain('keys          3 at once, 16 writes per key, transactions of up to 4 operations');
    expect(lines).toContain('availability  total (every request must succeed)');
    expect(lines).toContain('runs          3, stopping at the first that is not valid');
  });
});
