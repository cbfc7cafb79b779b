// CPU per dashboard frame: the live region (header, 5-node table, network,
// sparkline, keys) rendered by Ink into a fake 100-column terminal, with every
// node's indexes and rates changing each frame as they do under load. This is
// the part of the dashboard's CPU that does not depend on the event stream; at
// 10 frames a second, 1 ms per frame is 1% of a core.
import { Writable } from 'node:stream';

/** Loads React in its production build, as the CLI does (see production-mode.ts), without changing the environment of later benchmarks' processes. */
async function loadRenderer() {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV ??= 'production';
  try {
    const { render } = await import('ink');
    const { createElement } = await import('react');
    const { DashboardView } = await import('../dist/lib/dashboard/components.js');
    const { dashboardReducer, reduceAll } = await import('../dist/lib/dashboard/model.js');
    return { render, h: createElement, DashboardView, dashboardReducer, reduceAll };
  } finally {
    if (before === undefined) delete process.env.NODE_ENV;
  }
}

/**
 * Frames are drawn every 100 ms, as the dashboard draws them: frames drawn back
 * to back cost about half as much (warmer caches) and Ink's throttle merges
 * some of them, so they would flatter the figure.
 */
export const frame_interval_ms = 100;
export const frames_default = 150;
const warmup_frames = 200;
const terminal_columns = 100;
const node_ids = ['n1', 'n2', 'n3', 'n4', 'n5'];

class FakeTerminal extends Writable {
  columns = terminal_columns;
  rows = 30;
  isTTY = true;
  bytes = 0;
  _write(chunk, _encoding, done) {
    this.bytes += chunk.length;
    done();
  }
}

export async function measureDashboardFrame(frames = frames_default, { color = true } = {}) {
  const { render, h, DashboardView, dashboardReducer, reduceAll } = await loadRenderer();
  const stdout = new FakeTerminal();
  const start = Date.now();
  let model = reduceAll([
    {
      type: 'snapshot',
      t: start,
      status: { name: 'raft', system: 'raft', seed: 1, started_at_ms: start, faults: [], partition: null, nodes: node_ids.map((id) => ({ id, status: 'up', exit_code: null, exit_signal: null, restarts: 0, state: {} })) },
    },
  ]);
  const props = () => ({ model, now_ms: Date.now(), width: terminal_columns, color, selected: 0, message: null, showHelp: false });
  const advance = (frame) => {
    const t = Date.now();
    for (const id of node_ids) {
      const commit = 1000 + frame * 16 + (id === 'n2' ? 1 : 0);
      const state = { role: id === 'n2' ? 'leader' : 'follower', term: 1, leader: 'n2', commit_index: commit, last_applied: commit, log_first_index: 1, log_last_index: commit + 1, snapshot_index: 0, rolled_back: 0 };
      model = dashboardReducer(model, { type: 'node_state', t, seq: 0, node: id, state });
    }
    const nodes = Object.fromEntries(node_ids.map((id) => [id, { in_per_s: 200 + (frame % 7), out_per_s: 500 + (frame % 13) }]));
    model = dashboardReducer(model, { type: 'rates', t, seq: 0, interval_ms: 1000, nodes, dropped_per_s: 0 });
  };
  // maxFps high enough that every rerender is drawn: this measures a frame, not Ink's throttle.
  const instance = render(h(DashboardView, props()), { stdout, maxFps: 10_000, patchConsole: false, exitOnCtrlC: false });
  const step = async (frame, wait_ms) => {
    advance(frame);
    instance.rerender(h(DashboardView, props()));
    await new Promise((resolve) => (wait_ms ? setTimeout(resolve, wait_ms) : setImmediate(resolve)));
  };
  for (let frame = 0; frame < warmup_frames; frame++) await step(frame, 0);
  const bytesBefore = stdout.bytes;
  const before = process.cpuUsage();
  for (let frame = 0; frame < frames; frame++) await step(warmup_frames + frame, frame_interval_ms);
  const used = process.cpuUsage(before);
  instance.unmount();
  return { frames, cpu_ms_per_frame: (used.user + used.system) / 1000 / frames, bytes_per_frame: Math.round((stdout.bytes - bytesBefore) / frames) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const color of [true, false]) {
    const result = await measureDashboardFrame(frames_default, { color });
    console.log(
      `dashboard frame (${color ? 'colour' : 'NO_COLOR'}, ${terminal_columns} columns, 5 nodes changing, one frame every ${frame_interval_ms} ms): ` +
        `${result.cpu_ms_per_frame.toFixed(2)} ms CPU per frame over ${result.frames} frames, ${result.bytes_per_frame} bytes written per frame; ` +
        `at 10 frames/s that is ${result.cpu_ms_per_frame.toFixed(1)}% of a core`,
    );
  }
}
