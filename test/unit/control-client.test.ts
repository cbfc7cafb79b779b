import type { Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActionResult, ClusterEvent, ControlAction } from '../../src/lib/control/api.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { type ControlTarget, serveControl } from '../../src/lib/control/server.js';
import { EventHub } from '../../src/lib/supervisor/event-hub.js';
import { UserError } from '../../src/lib/util/errors.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { waitFor } from '../helpers/cli.js';

const tempDir = tempDirs('dslab-client-');

/** An event hub that counts its subscribed streams (each stream unsubscribes when its connection closes). */
class CountingHub extends EventHub {
  subscribed = 0;
  override subscribe(listener: (event: ClusterEvent) => void): () => void {
    const unsubscribe = super.subscribe(listener);
    this.subscribed++;
    return () => {
      this.subscribed--;
      unsubscribe();
    };
  }
}

/** The real control server in front of a stand-in supervisor: a real event hub and an `apply` the test decides. */
async function serve(apply: (action: ControlAction, events: CountingHub) => Promise<ActionResult>) {
  const events = new CountingHub();
  const socket = path.join(tempDir(), 'control.sock');
  const notes: string[] = [];
  const log = { note: (text: string) => void notes.push(text) };
  const supervisor = { events, log, apply: (action: ControlAction) => apply(action, events), status: () => ({}), shutdown: async () => undefined } as unknown as ControlTarget;
  const server = await serveControl(supervisor, socket);
  servers.push(server);
  const client = new ControlClient({ name: 'test', system: 'test', nodes: [], command: [], seed: 0, dir: '', socket, supervisor_pid: process.pid, started_at_ms: 0, running: true });
  return { events, client, server, notes };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('ControlClient.actAndFollow', () => {
  it('closes its event stream when the action is refused, so nothing keeps the process waiting', async () => {
    let subscribedAtAction = -1;
    const { client, events, notes } = await serve(async (_action, hub) => {
      subscribedAtAction = hub.subscribed;
      throw new UserError('a nemesis is already running');
    });
    const seen: ClusterEvent[] = [];
    await expect(client.actAndFollow({ type: 'nemesis_stop' }, (event) => void seen.push(event))).rejects.toThrow(/^a nemesis is already running$/);
    expect(subscribedAtAction).toBe(1);
    await waitFor('the server to see the stream closed', () => events.subscribed === 0);
    expect(seen).toEqual([]);
    // The supervisor's log says what it refused and why.
    expect(notes.some((note) => note.includes('refused') && note.includes('a nemesis is already running'))).toBe(true);
  });

  it('closes its stream when the request is malformed (refused by the schema before the supervisor sees it)', async () => {
    const { client, events } = await serve(async () => ({ description: 'never' }));
    const bad = { type: 'nemesis_start', interval_ms: 50, duration_ms: 1000, seed: 1 } as ControlAction;
    await expect(client.actAndFollow(bad, () => {})).rejects.toThrow(/malformed control request/);
    await waitFor('the server to see the stream closed', () => events.subscribed === 0);
  });

  it('sends the action only once subscribed, and hands over events after the result', async () => {
    let subscribedAtAction = -1;
    const { client } = await serve(async (_action, hub) => {
      subscribedAtAction = hub.subscribed;
      // An event the action causes, emitted before the action is answered (as a nemesis's first fault can be).
      hub.emit({ type: 'notice', text: 'caused by the action' });
      return { description: 'done' };
    });
    const order: string[] = [];
    const { result, follower } = await client.actAndFollow({ type: 'heal' }, (event) => {
      if (event.type === 'notice') order.push(event.text);
      return false;
    });
    order.push(`result: ${result.description}`);
    await follower.ended;
    expect(subscribedAtAction).toBe(1);
    expect(order).toEqual(['result: done', 'caused by the action']);
  });

  it('counts the stream as ended only once the held events are handed over, even if it closed during the action', async () => {
    const { client } = await serve(async (_action, hub) => {
      hub.emit({ type: 'notice', text: 'last words' });
      hub.emit({ type: 'cluster_down', name: 'test' }); // the server ends every stream on this
      await new Promise((resolve) => setTimeout(resolve, 100)); // the answer comes after the stream's end
      return { description: 'done' };
    });
    const received: string[] = [];
    const { follower } = await client.actAndFollow({ type: 'heal' }, (event) => void received.push(event.type));
    await follower.ended;
    expect(received).toEqual(['notice', 'cluster_down']);
  });

  it('close() ends every stream the client opened', async () => {
    const { client, events } = await serve(async () => ({ description: 'ok' }));
    const first = client.follow(() => {});
    const second = client.follow(() => {});
    await Promise.all([first.ready, second.ready]);
    expect(events.subscribed).toBe(2);
    client.close();
    await Promise.all([first.ended, second.ended]);
    await waitFor('the server to see both streams closed', () => events.subscribed === 0);
  });

  it('is ready before any event arrives (the server sends its headers on subscribing)', async () => {
    const { client, events } = await serve(async () => ({ description: 'ok' }));
    let received: ClusterEvent | null = null;
    const follower = client.follow((event) => {
      received = event;
      return false;
    });
    // Nothing has been emitted, yet the stream reports ready, and it is subscribed by then.
    await follower.ready;
    expect(events.subscribed).toBe(1);
    events.emit({ type: 'notice', text: 'hello' });
    await follower.ended;
    expect(received).toMatchObject({ type: 'notice', text: 'hello' });
  });
});
