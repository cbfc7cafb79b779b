import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { ControlAction } from '../../src/lib/control/api.js';
import { DashboardApp, clear_screen, colorAllowed } from '../../src/lib/dashboard/app.js';
import type { DashboardInput } from '../../src/lib/dashboard/model.js';
import { useDashboard, type DashboardSource } from '../../src/lib/dashboard/use-dashboard.js';
import { waitFor } from '../helpers/cli.js';
import { recordedRaftEvents, until } from './recorded.js';

const events = recordedRaftEvents();
const firstLeader = until(events, (e) => e.type === 'node_state' && e.node === 'n5' && e.state.commit_index === 1);

/** A frame without the event log printed above it (lines that start with a time of day). */
const liveRegion = (frame: string | undefined) =>
  (frame ?? '')
    .split('\n')
    .filter((line) => !/^\d\d:\d\d:\d\d\.\d{3} /.test(line))
    .join('\n');

/** A source that replays fixed inputs and records the actions it is asked for. */
function fakeSource(inputs: readonly DashboardInput[]) {
  const actions: ControlAction[] = [];
  let deliver: ((input: DashboardInput) => void) | null = null;
  const stopped = vi.fn();
  const source: DashboardSource = {
    start(onInput) {
      deliver = onInput;
      for (const input of inputs) onInput(input);
      return stopped;
    },
    act: async (action) => {
      actions.push(action);
      return { description: `did ${action.type}` };
    },
  };
  return { source, actions, stopped, push: (input: DashboardInput) => deliver?.(input) };
}

describe('useDashboard', () => {
  it('folds a burst of recorded events into a few frames instead of one render per event', async () => {
    const fake = fakeSource([]);
    let renders = 0;
    function Probe() {
      const { model } = useDashboard(fake.source, 50);
      renders += 1;
      return h(Text, null, `leader ${model.leader ?? 'none'} nodes ${model.nodes.length} log ${model.log.length}`);
    }
    const { lastFrame, unmount } = render(h(Probe));
    for (const event of events) fake.push(event);
    await waitFor('the frame after the burst', () => lastFrame()?.includes('nodes 5') && lastFrame()!.includes('leader n2'));
    unmount();
    expect(events.length).toBeGreaterThan(1000);
    expect(renders).toBeLessThan(20);
    expect(fake.stopped).toHaveBeenCalled();
  });
});

describe('DashboardApp keys', () => {
  it('maps keys to control actions on the selected node: j moves down, k kills, p pauses, i isolates, s splits, h heals', async () => {
    const fake = fakeSource(firstLeader);
    const { lastFrame, stdin, unmount } = render(h(DashboardApp, { source: fake.source, mode: 'watch', color: false }));
    await waitFor('the leader on screen', () => lastFrame()?.includes('leader n5 · term 1'));
    stdin.write('j');
    await waitFor('n2 selected', () => lastFrame()?.includes('> n2'));
    stdin.write('k');
    await waitFor('the kill', () => fake.actions.length === 1);
    stdin.write('jjp'); // several keys in one chunk, as tmux sends them
    stdin.write('i');
    stdin.write('s');
    stdin.write('h');
    await waitFor('every action', () => fake.actions.length === 5);
    expect(fake.actions).toEqual([
      { type: 'kill', node: 'n2' },
      { type: 'pause', node: 'n4' },
      { type: 'partition', isolate: 'n4' },
      { type: 'partition', random: true },
      { type: 'heal' },
    ]);
    await waitFor('the result line', () => lastFrame()?.includes('did heal'));
    unmount();
  });

  it('resumes a paused node with p, and q quits a watch without touching the cluster', async () => {
    const paused = until(events, (e) => e.type === 'node_paused');
    const fake = fakeSource(paused);
    const { lastFrame, stdin } = render(h(DashboardApp, { source: fake.source, mode: 'watch', color: false }));
    await waitFor('n1 paused on screen', () => /> n1\s+paused/.test(lastFrame() ?? ''));
    stdin.write('p');
    await waitFor('the resume', () => fake.actions.length === 1);
    expect(fake.actions[0]).toEqual({ type: 'resume', node: 'n1' });
    stdin.write('q');
    await waitFor('the view to close', () => fake.stopped.mock.calls.length > 0);
  });

  it('in up, q asks first: any other key keeps the cluster, y stops it', async () => {
    const fake = fakeSource(firstLeader);
    const stopCluster = vi.fn(async () => undefined);
    const { lastFrame, stdin } = render(h(DashboardApp, { source: fake.source, mode: 'up', color: false, stopCluster }));
    await waitFor('the dashboard', () => lastFrame()?.includes('leader n5'));
    stdin.write('q');
    await waitFor('the question', () => lastFrame()?.includes('stop the cluster and quit?'));
    stdin.write('n');
    await waitFor('the answer', () => lastFrame()?.includes('the cluster keeps running'));
    expect(stopCluster).not.toHaveBeenCalled();
    stdin.write('q');
    stdin.write('y');
    await waitFor('the stop', () => stopCluster.mock.calls.length === 1);
    await waitFor('the view to close', () => fake.stopped.mock.calls.length > 0);
    // The last frame gives way to one line saying what became of the cluster (drawn just after the view closes);
    // the event log printed above it stays.
    await waitFor('the farewell line', () => liveRegion(lastFrame()) === 'cluster raft stopped');
    expect(lastFrame()).toContain('n5 is leader (term 1)');
  });

  it('replaces the last frame with one line when a watched cluster goes down, or when q leaves it running', async () => {
    const gone = fakeSource(firstLeader);
    const watched = render(h(DashboardApp, { source: gone.source, mode: 'watch', color: false }));
    await waitFor('the dashboard', () => watched.lastFrame()?.includes('leader n5'));
    gone.push({ type: 'cluster_down', name: 'raft', t: Date.now(), seq: 9_999 } as DashboardInput);
    await waitFor('the view to close', () => gone.stopped.mock.calls.length > 0);
    await waitFor('the farewell line', () => liveRegion(watched.lastFrame()) === 'cluster raft stopped');

    const left = fakeSource(firstLeader);
    const leaving = render(h(DashboardApp, { source: left.source, mode: 'watch', color: false }));
    await waitFor('the dashboard', () => leaving.lastFrame()?.includes('leader n5'));
    leaving.stdin.write('q');
    await waitFor('the view to close', () => left.stopped.mock.calls.length > 0);
    await waitFor('the farewell line', () => liveRegion(leaving.lastFrame()) === 'left the dashboard; cluster raft keeps running (dslab down stops it)');
  });

  it('clears the screen on a terminal resize and prints the newest log entries again above a fresh frame', async () => {
    const fake = fakeSource(firstLeader);
    const { lastFrame, stdout, frames, unmount } = render(h(DashboardApp, { source: fake.source, mode: 'watch', color: false }));
    await waitFor('the dashboard', () => lastFrame()?.includes('leader n5'));
    const before = frames.length;
    stdout.emit('resize');
    await waitFor('a redraw after the resize', () => frames.length > before + 1 && frames.slice(before + 1).some((frame) => frame.includes('n5 is leader (term 1)')));
    expect(frames.slice(before)).toContain(clear_screen);
    unmount();
  });
});

describe('colorAllowed', () => {
  it('follows NO_COLOR: set and not empty means no colour', () => {
    expect(colorAllowed({})).toBe(true);
    expect(colorAllowed({ NO_COLOR: '' })).toBe(true);
    expect(colorAllowed({ NO_COLOR: '1' })).toBe(false);
  });
});
