// CPU per dashboard frame: the live region (header, 5-node table, network,
// sparkline, keys) rendered by Ink into a fake 100-column terminal, with every
// node's indexes and rates changing each frame as they do under load. Its inputs
// start from what a real 5-node raft cluster reported (recordRaftCluster). This is
// the part of the dashboard's CPU that does not depend on the event stream; at
// 10 frames a second, 1 ms per frame is 1% of a core.
import './react-production.mjs';
import { Writable } from 'node:stream';
import { ControlClient } from '../dist/lib/control/client.js';
import { dslabHome, findRunningCluster } from '../dist/lib/cluster/paths.js';
import { cleanup, dslab, scratch } from './lib.mjs';

async function loadRenderer() {
  const { render } = await import('ink');
  const { createElement } = await import('react');
  const { DashboardView } = await import('../dist/lib/dashboard/components.js');
  const { dashboardReducer, reduceAll } = await import('../dist/lib/dashboard/model.js');
  return { render, h: createElement, DashboardView, dashboardReducer, reduceAll };
}

/**
 * Frames are drawn every 100 ms, as the dashboard draws them: frames drawn back
 * to back cost about half as much (warmer caches) and Ink's throttle merges
 * some of them, so they would flatter the figure.
 */
export const frame_interval_ms = 100;
export const sizes_default = { frames: 150, warmup_frames: 200 };
/** Quick mode (bench/run-all.js --quick): a few frames show every part still renders. */
export const sizes_quick = { frames: 5, warmup_frames: 5 };
const terminal_columns = 100;
const node_count = 5;
/** How long the recorded cluster may take to elect a leader and send its first rates event. */
const record_wait_ms = 30_000;
/** Characters of the terminal's output kept for the check that every node was drawn (a few frames' worth). */
const drawn_tail_chars = 50_000;
/** Each frame, every node's indexes move on by this much (a busy leader's commit rate per 100 ms). */
const index_step_per_frame = 16;

class FakeTerminal extends Writable {
  columns = terminal_columns;
  rows = 30;
  isTTY = true;
  bytes = 0;
  /** The end of what was drawn, to check that the frames showed the cluster. */
  tail = '';
  _write(chunk, _encoding, done) {
    this.bytes += chunk.length;
    this.tail = (this.tail + chunk.toString()).slice(-drawn_tail_chars);
    done();
  }
}

/**
 * The dashboard's inputs as a real cluster sends them, so the benchmark cannot
 * fall behind their shape: the status of `dslab up raft --nodes 5` once it has a
 * leader (each node's state report in it) and one of its rates events.
 */
async function recordRaftCluster() {
  const cwd = scratch();
  try {
    dslab(cwd, 'up', 'raft', '--nodes', String(node_count), '--detach');
    const client = new ControlClient(findRunningCluster(dslabHome(cwd)));
    let rates = null;
    const follower = client.follow((event) => {
      if (event.type !== 'rates') return true;
      rates = event;
      return false;
    });
    const deadline = Date.now() + record_wait_ms;
    let status = await client.status();
    while (!status.leader || status.nodes.some((n) => n.state.role === undefined) || !rates) {
      if (Date.now() > deadline) throw new Error(`the raft cluster had no leader, state reports from every node and a rates event within ${record_wait_ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await client.status();
    }
    follower.stop();
    return { status, rates };
  } finally {
    cleanup(cwd);
  }
}

/** A copy of `value` with every number that counts something moved on by `step` (times, sequence numbers and intervals are kept). */
function advanced(value, step, key = '') {
  if (typeof value === 'number') return /(^t$|^seq$|_ms$|_t$|^term$|^pid$)/.test(key) ? value : value + step;
  if (Array.isArray(value)) return value.map((v) => advanced(v, step, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, advanced(v, step, k)]));
  return value;
}

export async function measureDashboardFrame({ frames, warmup_frames } = sizes_default, { color = true, recorded } = {}) {
  const { render, h, DashboardView, dashboardReducer, reduceAll } = await loadRenderer();
  const { status, rates } = recorded ?? (await recordRaftCluster());
  const stdout = new FakeTerminal();
  let model = reduceAll([{ type: 'snapshot', t: Date.now(), status }]);
  const props = () => ({ model, now_ms: Date.now(), width: terminal_columns, color, selected: 0, message: null, showHelp: false });
  // Each frame: every node reports its state with its indexes moved on, then the rates change a little, as under load.
  const advance = (frame) => {
    const t = Date.now();
    for (const node of status.nodes) {
      model = dashboardReducer(model, { type: 'node_state', t, seq: 0, node: node.id, state: advanced(node.state, frame * index_step_per_frame) });
    }
    // Every rates figure moves (heard_from's times too, so no node looks out of touch).
    model = dashboardReducer(model, { ...rates, t, nodes: advanced(rates.nodes, frame % 7), ...(rates.heard_from ? { heard_from: advanced(rates.heard_from, t - rates.t) } : {}) });
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
  // A frame that failed to render still costs CPU: the figure counts only if the nodes were drawn.
  const undrawn = status.nodes.map((n) => n.id).filter((id) => !stdout.tail.includes(id));
  if (undrawn.length) throw new Error(`the dashboard's frames did not show ${undrawn.join(', ')}: it did not render (see the errors above)`);
  return { frames, cpu_ms_per_frame: (used.user + used.system) / 1000 / frames, bytes_per_frame: Math.round((stdout.bytes - bytesBefore) / frames), recorded: { status, rates } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let recorded;
  for (const color of [true, false]) {
    const result = await measureDashboardFrame(sizes_default, { color, recorded });
    recorded = result.recorded;
    console.log(
      `dashboard frame (${color ? 'colour' : 'NO_COLOR'}, ${terminal_columns} columns, 5 nodes changing, one frame every ${frame_interval_ms} ms): ` +
        `${result.cpu_ms_per_frame.toFixed(2)} ms CPU per frame over ${result.frames} frames, ${result.bytes_per_frame} bytes written per frame; ` +
        `at 10 frames/s that is ${result.cpu_ms_per_frame.toFixed(1)}% of a core`,
    );
  }
}
