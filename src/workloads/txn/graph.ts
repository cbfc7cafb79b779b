/**
 * The dependency graph between transactions: edges typed ww (write then a
 * later write of the same key), wr (a write, then a read that saw it), rw (a
 * read, then the write that replaced what it saw: an anti-dependency), rt
 * (one transaction finished before another began) and process (one client's
 * transactions in order). Each edge keeps why it exists, for the words.
 * Pure; sizes bounded by the history's.
 */

export const edge_kinds = ['ww', 'wr', 'rw', 'rt', 'process'] as const;
export type EdgeKind = (typeof edge_kinds)[number];

export const edge_bit: Record<EdgeKind, number> = { ww: 1, wr: 2, rw: 4, rt: 8, process: 16 };

/** Why an edge exists, in words, for the first reason found (one is enough to explain a cycle). */
export interface Edge {
  from: number;
  to: number;
  kind: EdgeKind;
  why: string;
}

export class DependencyGraph {
  /** Per transaction: its successors, each with the kinds of edge to it (bits of edge_bit). */
  private readonly out: Map<number, number>[];
  private readonly reasons = new Map<string, string>();
  edge_count = 0;

  constructor(readonly size: number) {
    this.out = Array.from({ length: size }, () => new Map());
  }

  add(from: number, to: number, kind: EdgeKind, why: () => string): void {
    if (from === to) return;
    const successors = this.out[from]!;
    const mask = successors.get(to) ?? 0;
    const bit = edge_bit[kind];
    if (mask & bit) return;
    successors.set(to, mask | bit);
    this.edge_count++;
    // Words only for the first edges of each kind between a pair: the explanation needs one.
    this.reasons.set(`${from}>${to}>${kind}`, why());
  }

  successors(from: number): ReadonlyMap<number, number> {
    return this.out[from]!;
  }

  /** The edge from → to of the first kind in `allowed` (a bit mask) it has, with its reason. */
  edge(from: number, to: number, allowed: number): Edge | null {
    const mask = (this.out[from]!.get(to) ?? 0) & allowed;
    if (!mask) return null;
    for (const kind of edge_kinds) {
      if (mask & edge_bit[kind]) return { from, to, kind, why: this.reasons.get(`${from}>${to}>${kind}`) ?? '' };
    }
    return null;
  }

  /**
   * Strongly connected components (Tarjan's, iterative) of the edges in `allowed`, over the
   * transactions in `within` (all when absent); only those of two or more.
   */
  components(allowed: number, within?: ReadonlySet<number>): number[][] {
    const index = new Int32Array(this.size).fill(-1);
    const low = new Int32Array(this.size);
    const onStack = new Uint8Array(this.size);
    const stack: number[] = [];
    const result: number[][] = [];
    let counter = 0;
    const roots = within ? [...within] : Array.from({ length: this.size }, (_, i) => i);
    for (const root of roots) {
      if (index[root] !== -1) continue;
      // Frames: node and an iterator over its successors.
      const frames: { node: number; next: Iterator<[number, number]> }[] = [];
      const open = (node: number) => {
        index[node] = low[node] = counter++;
        stack.push(node);
        onStack[node] = 1;
        frames.push({ node, next: this.out[node]!.entries() });
      };
      open(root);
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const step = frame.next.next();
        if (!step.done) {
          const [to, mask] = step.value;
          if (!(mask & allowed) || (within && !within.has(to))) continue;
          if (index[to] === -1) open(to);
          else if (onStack[to]) low[frame.node] = Math.min(low[frame.node]!, index[to]!);
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1];
        if (parent) low[parent.node] = Math.min(low[parent.node]!, low[frame.node]!);
        if (low[frame.node] === index[frame.node]) {
          const component: number[] = [];
          for (;;) {
            const node = stack.pop()!;
            onStack[node] = 0;
            component.push(node);
            if (node === frame.node) break;
          }
          if (component.length > 1) result.push(component);
        }
      }
    }
    return result;
  }

  /**
   * A shortest path from `from` to `to` over edges in `allowed`, staying within `within`; the
   * transactions on it in order (from first, to last), or null.
   */
  path(from: number, to: number, allowed: number, within: ReadonlySet<number>): number[] | null {
    const previous = new Map<number, number>([[from, -1]]);
    const queue = [from];
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]!;
      for (const [next, mask] of this.out[node]!) {
        if (!(mask & allowed) || !within.has(next) || previous.has(next)) continue;
        previous.set(next, node);
        if (next === to) {
          const path = [to];
          for (let at = node; at !== -1; at = previous.get(at)!) path.unshift(at);
          return path;
        }
        queue.push(next);
      }
    }
    return null;
  }
}
