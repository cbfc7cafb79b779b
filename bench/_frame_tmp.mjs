// Renders DashboardApp-like frames: DashboardView with changing commit indexes, Ink to a fake TTY.
import { Writable } from 'node:stream';
import { createElement as h } from 'react';
import { render } from 'ink';
import { DashboardView } from '/work/main/dist/lib/dashboard/components.js';
import { reduceAll } from '/work/main/dist/lib/dashboard/model.js';

class FakeTty extends Writable {
  columns = 100; rows = 30; isTTY = true; bytes = 0;
  _write(chunk, enc, cb) { this.bytes += chunk.length; cb(); }
}
const stdout = new FakeTty();
const t0 = Date.now();
let model = reduceAll([
  { type: 'snapshot', t: t0, status: { name: 'raft', system: 'raft', seed: 1, started_at_ms: t0, faults: [], partition: null, nodes: ['n1','n2','n3','n4','n5'].map(id => ({ id, status: 'up', exit_code: null, exit_signal: null, restarts: 0, state: {} })) } },
]);
const state = (id, ci) => ({ type: 'node_state', t: Date.now(), node: id, state: { role: id === 'n2' ? 'leader' : 'follower', term: 1, leader: 'n2', commit_index: ci, last_applied: ci, log_first_index: 1, log_last_index: ci + 1, snapshot_index: 0, rolled_back: 0 } });
const props = (m, now) => ({ model: m, now_ms: now, width: 100, color: process.env.NO_COLOR ? false : true, selected: 0, message: null, showHelp: false });
const { reducer } = await import('/work/main/dist/lib/dashboard/model.js').then(m => ({ reducer: m.dashboardReducer }));
const inst = render(h(DashboardView, props(model, Date.now())), { stdout, maxFps: 1000, patchConsole: false, exitOnCtrlC: false });
const frames = Number(process.argv[2] ?? 500);
await new Promise(r => setTimeout(r, 50));
const c0 = process.cpuUsage();
for (let i = 0; i < frames; i++) {
  for (const id of ['n1','n2','n3','n4','n5']) model = reducer(model, state(id, 1000 + i * 16 + (id === 'n2' ? 1 : 0)));
  model = reducer(model, { type: 'rates', t: Date.now(), interval_ms: 1000, nodes: Object.fromEntries(['n1','n2','n3','n4','n5'].map(id => [id, { in_per_s: 200 + i % 7, out_per_s: 500 + i % 13 }])), dropped_per_s: 0 });
  inst.rerender(h(DashboardView, props(model, Date.now())));
  await new Promise(r => setImmediate(r));
}
const c = process.cpuUsage(c0);
console.log(`${((c.user + c.system) / frames / 1000).toFixed(3)} ms CPU per frame over ${frames} frames; ${(stdout.bytes / frames).toFixed(0)} bytes written per frame`);
inst.unmount();
