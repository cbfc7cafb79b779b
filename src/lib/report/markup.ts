/**
 * Small pieces the HTML reports share (the grader's and `dslab test`'s):
 * escaping text into markup, counts in words, times from a run's start, and
 * the order nodes are drawn in.
 */

const xml_entities: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

/** Text made safe inside an element or a quoted attribute, in HTML and in SVG. */
export const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => xml_entities[c]!);

/** "1 operation", "2 operations", "0 operations". */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Milliseconds from the run's start, e.g. "+1520.3 ms", or "-167.0 ms" before it (a node's init). */
export function relativeMs(ms: number): string {
  const tenths = Math.round(ms * 10);
  return `${tenths < 0 ? '-' : '+'}${(Math.abs(tenths) / 10).toFixed(1)} ms`;
}

const byNodeNumber = (a: string, b: string): number => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')) || a.localeCompare(b);

/** Nodes in the cluster's order (group by group: z1..z3 before w1..w4), anything else after them by number. */
export const inClusterOrder =
  (nodes: readonly string[]) =>
  (a: string, b: string): number => {
    const ia = nodes.indexOf(a);
    const ib = nodes.indexOf(b);
    return (ia === -1 ? nodes.length : ia) - (ib === -1 ? nodes.length : ib) || byNodeNumber(a, b);
  };

/** Whether a message's end is one of the run's nodes (not a client or a service). */
export const nodeTest = (r: { readonly nodes: readonly string[] }) => {
  const nodes = new Set(r.nodes);
  return (id: unknown): boolean => typeof id === 'string' && nodes.has(id);
};
