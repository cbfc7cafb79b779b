import type { ControlAction } from '../control/api.js';
import { createRng } from '../util/prng.js';
import { randomHalves } from './partition-spec.js';

export interface NemesisStep {
  at_ms: number;
  /** The fault this step injects; null on the final step, which only heals. */
  apply: ControlAction | null;
  /** What reverses `apply`; run before the next step, or when the nemesis is stopped. */
  undo: ControlAction[];
}

import { nemesis_steps_max, nemesisFaultCount } from './nemesis-budget.js';

export { nemesis_steps_max, nemesisFaultCount };

/**
 * The actions that undo the last fault and then clean up, each once: undoing a
 * loss is a heal, and the final clean-up is a heal too, but healing twice
 * would only report "healed" twice.
 */
export function undoOnce(actions: readonly ControlAction[]): ControlAction[] {
  const seen = new Set<string>();
  return actions.filter((action) => {
    const key = JSON.stringify(action);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type FaultKind = 'partition' | 'isolate' | 'kill' | 'pause' | 'loss' | 'delay' | 'duplicate';
const fault_kinds: readonly FaultKind[] = ['partition', 'isolate', 'kill', 'pause', 'loss', 'delay', 'duplicate'];

/**
 * A seeded schedule of faults: every interval the previous step's fault is
 * undone and a new one is applied; the final step applies nothing and heals. The schedule names
 * concrete nodes, so the same seed and cluster replay the same faults.
 */
export function nemesisSchedule(seed: number, nodeIds: readonly string[], interval_ms: number, duration_ms: number): NemesisStep[] {
  const rng = createRng(seed);
  const steps: NemesisStep[] = [];
  const count = nemesisFaultCount(interval_ms, duration_ms);
  if (count > nemesis_steps_max) throw new Error(`invariant broken: nemesis schedule of ${count} steps exceeds ${nemesis_steps_max}`);
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(fault_kinds);
    const node = rng.pick(nodeIds);
    let apply: ControlAction;
    let undo: ControlAction[];
    switch (kind) {
      case 'partition':
        apply = { type: 'partition', groups: randomHalves(nodeIds, rng) };
        undo = [{ type: 'heal' }];
        break;
      case 'isolate':
        apply = { type: 'partition', isolate: node };
        undo = [{ type: 'heal' }];
        break;
      case 'kill':
        apply = { type: 'kill', node };
        undo = [{ type: 'restart', node }];
        break;
      case 'pause':
        apply = { type: 'pause', node };
        undo = [{ type: 'resume', node }];
        break;
      case 'loss':
        apply = { type: 'link_faults', loss: (10 + rng.int(31)) / 100 };
        undo = [{ type: 'heal' }];
        break;
      case 'delay':
        apply = { type: 'link_faults', delay_ms: 20 + rng.int(181), jitter_ms: rng.int(51) };
        undo = [{ type: 'heal' }];
        break;
      case 'duplicate':
        apply = { type: 'link_faults', duplicate: (5 + rng.int(26)) / 100 };
        undo = [{ type: 'heal' }];
        break;
    }
    steps.push({ at_ms: i * interval_ms, apply, undo });
  }
  steps.push({ at_ms: count * interval_ms, apply: null, undo: [{ type: 'heal' }] });
  return steps;
}
