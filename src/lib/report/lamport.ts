import { escapeXml, inClusterOrder, nodeTest, relativeMs } from './markup.js';

/**
 * The message (Lamport) diagram the HTML reports draw around a failure: a
 * vertical line per client and node, one arrow per message and row, time
 * downwards with its offset from the run's start on the left. Plain SVG, so
 * the page needs no script to show it.
 */

export interface Arrow {
  /** Epoch ms. */
  t: number;
  src: string;
  dest: string;
  label: string;
  /** The tooltip: the message in full. */
  title: string;
  /** node: between nodes; op: a client request or reply of a drawn operation; bad: of an operation that went wrong. */
  kind: 'node' | 'op' | 'bad';
  /** Dropped by the network: drawn dashed and red. */
  dropped: boolean;
}

/** A client operation drawn as a bar on its client's line. */
export interface OpBar {
  client: string;
  /** Rows of its first request and its last reply (null: it never got one). */
  from_row: number;
  to_row: number | null;
  bad: boolean;
  title: string;
}

/** A moment marked across the diagram (the failure's time), drawn above the first arrow at or after it. */
export interface DiagramMark {
  /** Epoch ms. */
  t: number;
  label: string;
}

export interface LamportOptions {
  /** Columns drawn first, in this order (a failure's endpoints); the rest follow, clients before nodes. */
  first?: readonly string[];
  marks?: readonly DiagramMark[];
}

export const arrow_colours: Record<Arrow['kind'], string> = { node: '#1565c0', op: '#37474f', bad: '#c2185b' };
const dropped_colour = '#c62828';
const mark_colour = '#ef6c00';

/** The diagram as an SVG in a horizontally scrolling div; `id` keeps its markers apart from other diagrams' on the page. */
export function lamportSvg(arrows: readonly Arrow[], bars: readonly OpBar[], origin_ms: number, id: string, nodes: readonly string[], options: LamportOptions = {}): string {
  const isNode = nodeTest({ nodes });
  const first = options.first ?? [];
  const rank = (column: string) => (first.includes(column) ? first.indexOf(column) : first.length);
  const columns = [...new Set([...first, ...arrows.flatMap((a) => [a.src, a.dest])])].sort(
    (a, b) => rank(a) - rank(b) || Number(isNode(a)) - Number(isNode(b)) || inClusterOrder(nodes)(a, b),
  );
  const column = 104;
  const row = 16;
  const gutter = 92;
  const x = (id: string) => gutter + 30 + columns.indexOf(id) * column;
  const y = (i: number) => 34 + i * row;
  const bottom = y(arrows.length);
  const width = gutter + 60 + Math.max(1, columns.length) * column;
  const parts = columns.map(
    (id) => `<text x="${x(id)}" y="16" font-size="12" text-anchor="middle" font-weight="${isNode(id) ? 'bold' : 'normal'}">${escapeXml(id)}</text><line class="endpoint" x1="${x(id)}" x2="${x(id)}" y1="22" y2="${bottom}" stroke="${isNode(id) ? '#888' : '#bbb'}"${isNode(id) ? '' : ' stroke-dasharray="2,2"'}/>`,
  );
  for (const bar of bars) {
    const y1 = y(bar.from_row);
    const y2 = bar.to_row === null ? bottom : y(bar.to_row) + row - 4;
    parts.push(`<rect class="${bar.bad ? 'op-bar op-bad' : 'op-bar'}" x="${x(bar.client) - 4}" y="${y1}" width="8" height="${Math.max(4, y2 - y1)}" rx="3" fill="${bar.bad ? arrow_colours.bad : '#90a4ae'}"><title>${escapeXml(bar.title)}</title></rect>`);
  }
  for (const mark of options.marks ?? []) {
    const index = arrows.findIndex((a) => a.t >= mark.t);
    const my = (index === -1 ? bottom : y(index)) - 3;
    parts.push(
      `<g class="diagram-mark"><line x1="${gutter}" x2="${width - 10}" y1="${my}" y2="${my}" stroke="${mark_colour}" stroke-width="1.5" stroke-dasharray="6,3"/>` +
        // The label sits at the right end, clear of the time column on the left.
        `<text x="${width - 10}" y="${my - 3}" font-size="9" font-weight="bold" text-anchor="end" fill="${mark_colour}" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(mark.label)}</text><title>${escapeXml(`${relativeMs(mark.t - origin_ms)}: ${mark.label}`)}</title></g>`,
    );
  }
  arrows.forEach((a, i) => {
    const y1 = y(i);
    const colour = a.dropped ? dropped_colour : arrow_colours[a.kind];
    const x1 = x(a.src);
    const x2 = x(a.dest);
    parts.push(
      `<text class="time" x="4" y="${y1 + 8}" font-size="9" fill="#777">${relativeMs(a.t - origin_ms)}</text>`,
      `<line class="msg msg-${a.kind}${a.dropped ? ' msg-dropped' : ''}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y1 + row - 4}" stroke="${colour}" stroke-width="${a.kind === 'node' ? 1 : 1.6}"${a.dropped ? ' stroke-dasharray="4,3"' : ''} marker-end="url(#${id}-arrow-${a.kind})"><title>${escapeXml(a.title)}</title></line>`,
      // A white halo keeps a label legible where it crosses other lines and bars.
      `<text x="${((x1 + x2) / 2).toFixed(0)}" y="${y1 + 5}" font-size="9" text-anchor="middle" class="msg-label" fill="${colour}" stroke="#fff" stroke-width="3" paint-order="stroke"${a.kind === 'bad' ? ' font-weight="bold"' : ''}>${escapeXml(a.label)}</text>`,
    );
  });
  const markers = (Object.keys(arrow_colours) as Arrow['kind'][])
    .map((kind) => `<marker id="${id}-arrow-${kind}" markerWidth="7" markerHeight="7" refX="6" refY="3.5" orient="auto"><path d="M0,0 L7,3.5 L0,7 z" fill="${arrow_colours[kind]}"/></marker>`)
    .join('');
  const height = bottom + 10;
  return `<div class="scroll"><svg class="messages" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg"><defs>${markers}</defs>${parts.join('')}</svg></div>`;
}
