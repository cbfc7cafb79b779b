// Pins the Raft and Zab simulations' runs to digests recorded before their drivers shared one base
// (src/lib/sim/cluster-sim.ts): for a handful of seeds, a digest of every event's time as it was
// scheduled, every lifecycle and network fault applied (with the virtual time), the clients'
// history or the delivered sequence, the stats, and the verdict (a planted bug's failure message).
// Any change to what a seed schedules, in what order, or what it concludes changes a digest.
// After a deliberate change to the schedules, print the new digests with
//   SIM_DIGEST_PRINT=1 npx vitest run test/sim/replay-digest.test.ts
// and say in the commit why the runs changed.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FaultModel } from '../../src/lib/faults/fault-model.js';
import { SimHost } from '../../src/lib/sim/host.js';
import { Scheduler } from '../../src/lib/sim/scheduler.js';
import { RaftCore } from '../../src/systems/raft/core/core.js';
import { faultFreeSimConfig, randomSimConfig, runSimulation, type SimConfig } from '../../src/systems/raft/sim.js';
import type { PlantedBug } from '../../src/systems/zab/core/core.js';
import { faultFreeZabSimConfig, randomZabSimConfig, runZabSimulation, withPlantedBug, type ZabSimConfig } from '../../src/systems/zab/sim.js';

type Method = (...args: unknown[]) => unknown;

interface Trace {
  lines: string[];
  events_scheduled: number;
  faults: number;
}

/** Runs fn with the scheduler, the host's lifecycle and the fault model recording into a trace. */
function traced(fn: () => unknown): { trace: Trace; outcome: unknown } {
  const trace: Trace = { lines: [], events_scheduled: 0, faults: 0 };
  let clock: Scheduler | null = null;
  const now = (): number => clock?.now_ms ?? -1;
  const patches: [object, string, (original: Method) => Method][] = [
    [
      Scheduler.prototype,
      'at',
      (original) =>
        function (this: Scheduler, ...args: unknown[]) {
          clock = this;
          trace.events_scheduled++;
          trace.lines.push(`${this.now_ms}>${String(args[0])}`);
          return original.apply(this, args);
        },
    ],
    ...(['start', 'crash', 'pause', 'resume'] as const).map(
      (name): [object, string, (original: Method) => Method] => [
        SimHost.prototype,
        name,
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            const result = original.apply(this, args);
            trace.lines.push(`${now()} ${name} ${String(args[0])} ${String(result)}`);
            return result;
          },
      ],
    ),
    ...(['setPartition', 'setLinkFaults', 'heal'] as const).map(
      (name): [object, string, (original: Method) => Method] => [
        FaultModel.prototype,
        name,
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            trace.faults++;
            trace.lines.push(`${now()} ${name} ${JSON.stringify(args)}`);
            return original.apply(this, args);
          },
      ],
    ),
  ];
  const saved = patches.map(([target, name, wrap]) => {
    const obj = target as Record<string, Method>;
    const original = obj[name]!;
    obj[name] = wrap(original);
    return () => {
      obj[name] = original;
    };
  });
  try {
    let outcome: unknown;
    try {
      outcome = { ok: fn() };
    } catch (err) {
      outcome = { failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
    return { trace, outcome };
  } finally {
    for (const restore of saved) restore();
  }
}

function digest(trace: Trace, outcome: unknown): string {
  const h = createHash('sha256');
  for (const line of trace.lines) h.update(`${line}\n`);
  h.update(JSON.stringify(outcome));
  return h.digest('hex').slice(0, 24);
}

function raftRun(config: SimConfig): () => unknown {
  return () => {
    const r = runSimulation(config);
    return { history: r.history, stats: r.stats };
  };
}

function zabRun(config: ZabSimConfig): () => unknown {
  return () => {
    const r = runZabSimulation(config);
    return { delivered: r.delivered, stats: r.stats, zk: r.zk };
  };
}

/** Runs with RaftCore's method replaced (a planted bug), as test/raft/sim.test.ts plants them. */
function withRaftBug(method: string, replacement: Method, run: () => unknown): () => unknown {
  return () => {
    const core = RaftCore.prototype as unknown as Record<string, Method>;
    const original = core[method]!;
    core[method] = replacement;
    try {
      return run();
    } finally {
      core[method] = original;
    }
  };
}

const zabBug = (seed: number, bug: PlantedBug): (() => unknown) => zabRun(withPlantedBug(randomZabSimConfig(seed), bug));

/** Seeds chosen to cover both fault sources (raft 6 and 7, zab 2 run `dslab nemesis`'s schedule; raft 7 also transfers beside it), many aimed faults of every kind (raft 24 and 72, zab 58 and 65), pauses, transfers, JSON round trips, observers, the final leader crash, fault-free runs, ZooKeeper clients and failing verdicts. */
const cases: { name: string; run: () => unknown; fails: boolean; digest: string }[] = [
  { name: 'raft seed 1', run: raftRun(randomSimConfig(1)), fails: false, digest: '9fcdc067f85e258e4d8d8600' },
  { name: 'raft seed 2', run: raftRun(randomSimConfig(2)), fails: false, digest: '6ff5a71f1d9f180e864427e5' },
  { name: 'raft seed 6', run: raftRun(randomSimConfig(6)), fails: false, digest: '281d5854aa2dbe3f097c574c' },
  { name: 'raft seed 7', run: raftRun(randomSimConfig(7)), fails: false, digest: '9c85e782b473139b5cbec383' },
  { name: 'raft seed 9', run: raftRun(randomSimConfig(9)), fails: false, digest: '790bac4ff54a33c420763e26' },
  { name: 'raft seed 12', run: raftRun(randomSimConfig(12)), fails: false, digest: 'd1e68a29aa71213b141f3676' },
  { name: 'raft seed 24', run: raftRun(randomSimConfig(24)), fails: false, digest: 'b8a0681657ab1b22c19ca29a' },
  { name: 'raft seed 72', run: raftRun(randomSimConfig(72)), fails: false, digest: '6c70b65c228093d9fe9751f7' },
  { name: 'raft fault-free seed 5', run: raftRun(faultFreeSimConfig(5)), fails: false, digest: 'd7e0e506e8c3bf3ba8c5dece' },
  { name: 'raft stale votes seed 7', run: withRaftBug('isUpToDate', () => true, raftRun(randomSimConfig(7))), fails: true, digest: '61ba71f28cc051b556f76866' },
  { name: 'zab seed 2', run: zabRun(randomZabSimConfig(2)), fails: false, digest: '94c1510b8d57a2ba168fc890' },
  { name: 'zab seed 4', run: zabRun(randomZabSimConfig(4)), fails: false, digest: '5fda8bf3aba348dd16c72e1d' },
  { name: 'zab seed 8', run: zabRun(randomZabSimConfig(8)), fails: false, digest: '4d4b1f052841a309700d4d66' },
  { name: 'zab seed 9', run: zabRun(randomZabSimConfig(9)), fails: false, digest: 'a391ccbbbc9661ba25b1e7e3' },
  { name: 'zab seed 12', run: zabRun(randomZabSimConfig(12)), fails: false, digest: '379d6ee587bd93a4b4544fce' },
  { name: 'zab seed 14', run: zabRun(randomZabSimConfig(14)), fails: false, digest: 'b3f2c29e09dc241d8f0da284' },
  { name: 'zab seed 58', run: zabRun(randomZabSimConfig(58)), fails: false, digest: 'dff900eecf7451b0eaed3005' },
  { name: 'zab seed 65', run: zabRun(randomZabSimConfig(65)), fails: false, digest: '03d96baa5fe0f501ecfdf407' },
  { name: 'zab fault-free seed 5', run: zabRun(faultFreeZabSimConfig(5)), fails: false, digest: '14b0bd08e2f95da1e02d2af8' },
  { name: 'zab ZooKeeper clients seed 7', run: zabRun({ ...randomZabSimConfig(7), zk_clients: true, client_count: 2 }), fails: false, digest: '01df0f44603c3fe175ff1b82' },
  { name: 'zab ack before persist seed 1', run: zabBug(1, 'ack_before_persist'), fails: true, digest: '4ef8c9bdb758e1d901ec2059' },
  { name: 'zab TRUNC only past the log seed 8', run: zabBug(8, 'trunc_only_past_log'), fails: true, digest: 'c9545362c6d92807eff099ae' },
  { name: 'zab election id before zxid seed 280 (liveness)', run: zabBug(280, 'id_before_zxid'), fails: true, digest: '35f5fc48e491daa9a7bcbeba' },
];

describe('simulation replay digests', () => {
  const print = process.env['SIM_DIGEST_PRINT'] !== undefined;
  for (const c of cases) {
    it(`${c.name} schedules and concludes as recorded`, () => {
      const { trace, outcome } = traced(c.run);
      const d = digest(trace, outcome);
      if (print) console.log(`${c.name}: ${d} ${JSON.stringify(outcome).slice(0, 160)}`);
      // The trace really holds a run (so an equal digest means an equal run, not two empty ones).
      expect(trace.events_scheduled).toBeGreaterThan(100);
      expect(trace.lines.some((l) => / start n1 true$/.test(l))).toBe(true);
      expect('failed' in (outcome as object)).toBe(c.fails);
      expect(d).toBe(c.digest);
    });
  }
});
