/**
 * Cycles in the dependency graph, classified as Adya's anomalies (the names
 * Elle uses): G0 (write cycle: ww edges only), G1c (circular information
 * flow: ww and wr, at least one wr), G-single (exactly one anti-dependency,
 * rw), G2-item (two or more rw); each also in a -realtime form (the cycle
 * needs a real-time edge) and a -process form (it needs one client's order).
 * The search works component by component, shortest cycle first, and stops
 * at its deadline, saying so. Pure.
 */
import { edge_bit, type DependencyGraph, type Edge, type EdgeKind } from './graph.js';

export const cycle_anomaly_types = [
  'G0', 'G1c', 'G-single', 'G2-item',
  'G0-realtime', 'G1c-realtime', 'G-single-realtime', 'G2-item-realtime',
  'G0-process', 'G1c-process', 'G-single-process', 'G2-item-process',
] as const;
export type CycleAnomalyType = (typeof cycle_anomaly_types)[number];

export interface CycleAnomaly {
  type: CycleAnomalyType;
  /** The cycle's edges in order; the last ends where the first begins. */
  edges: Edge[];
}

export interface CycleSearch {
  cycles: CycleAnomaly[];
  /** Cycles found per type (the examples are at most cycle_examples_per_type of them). */
  counts: Partial<Record<CycleAnomalyType, number>>;
  /** The search ran out of time before it looked at everything. */
  incomplete: boolean;
}

/** Cycles kept (with their edges) for each type. */
export const cycle_examples_per_type = 4;
/** Anti-dependency edges tried per component: each costs a search of the component. */
export const rw_edges_per_component_max = 2_000;

const bits = (...kinds: EdgeKind[]) => kinds.reduce((mask, kind) => mask | edge_bit[kind], 0);
const ww = bits('ww');
const wwr = bits('ww', 'wr');
const data = bits('ww', 'wr', 'rw');

/** The type of a cycle from the kinds of its edges and the extra kind it needed (rt or process). */
function classify(edges: readonly Edge[], extra: '' | '-realtime' | '-process'): CycleAnomalyType {
  const rw = edges.filter((e) => e.kind === 'rw').length;
  const wr = edges.some((e) => e.kind === 'wr');
  const base = rw >= 2 ? 'G2-item' : rw === 1 ? 'G-single' : wr ? 'G1c' : 'G0';
  return `${base}${extra}` as CycleAnomalyType;
}

export function findCycles(graph: DependencyGraph, options: { deadline_ms: number; now_ms?: () => number; realtime?: boolean; process?: boolean }): CycleSearch {
  const now = options.now_ms ?? (() => performance.now());
  const found: CycleSearch = { cycles: [], counts: {}, incomplete: false };
  /** Pairs already reported as the start of a cycle, so one cycle is not counted under two types. */
  const reported = new Set<string>();
  const record = (path: number[], allowed: number, extra: '' | '-realtime' | '-process', first: Edge | null): void => {
    const edges: Edge[] = [];
    // path is b … a for a closing edge a → b (first), or a full loop a … a.
    for (let i = 0; i + 1 < path.length; i++) edges.push(graph.edge(path[i]!, path[i + 1]!, allowed)!);
    if (first) edges.unshift(first);
    const type = classify(edges, extra);
    const key = `${type}:${[...edges.map((e) => e.from)].sort((x, y) => x - y).join(',')}`;
    if (reported.has(key)) return;
    reported.add(key);
    found.counts[type] = (found.counts[type] ?? 0) + 1;
    if (found.cycles.filter((c) => c.type === type).length < cycle_examples_per_type) found.cycles.push({ type, edges });
  };
  const outOfTime = () => {
    if (now() <= options.deadline_ms) return false;
    found.incomplete = true;
    return true;
  };

  // Close a cycle over each edge of `closing` kinds inside a component of `allowed` edges.
  const search = (allowed: number, closing: number, pathAllowed: number, extra: '' | '-realtime' | '-process') => {
    for (const component of graph.components(allowed)) {
      if (outOfTime()) return;
      const members = new Set(component);
      let tried = 0;
      for (const a of component) {
        for (const [b, mask] of graph.successors(a)) {
          if (!(mask & closing) || !members.has(b)) continue;
          if (++tried > rw_edges_per_component_max || outOfTime()) {
            found.incomplete = true;
            break;
          }
          const back = graph.path(b, a, pathAllowed, members);
          if (back) record(back, allowed, extra, graph.edge(a, b, closing));
        }
        if (found.incomplete) break;
      }
    }
  };

  // G0: a cycle of writes alone.
  search(ww, ww, ww, '');
  // G1c: information flow in a circle (a wr edge closing a ww/wr path).
  search(wwr, bits('wr'), wwr, '');
  // G-single: one anti-dependency closing a ww/wr path; G2-item: one closing a path with more.
  search(data, bits('rw'), wwr, '');
  search(data, bits('rw'), data, '');
  if (options.realtime) search(data | bits('rt'), bits('rt'), data | bits('rt'), '-realtime');
  if (options.process) search(data | bits('process'), bits('process'), data | bits('process'), '-process');
  return found;
}
