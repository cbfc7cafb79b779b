// Snowflake workers taking their numbers through the real ZooKeeper client (src/lib/zk/client.ts)
// from the in-process ensemble of the coordinator's own modules (test/helpers/zk-fake-ensemble.ts),
// on a virtual clock: what the real-process test cannot yet show until the zab host serves clients.
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/lib/protocol/messages.js';
import { decodeId, epoch_ms_default, parseId } from '../../src/systems/snowflake/core/ids.js';
import { default_layout } from '../../src/systems/snowflake/core/layout.js';
import { SnowflakeWorker, type WorkerRuntime } from '../../src/systems/snowflake/host.js';
import { CoordinatorNumbers, holderPath, latestPath } from '../../src/systems/snowflake/numbers.js';
import { record_interval_ms, type SnowflakeOptions } from '../../src/systems/snowflake/options.js';
import { ZkClient } from '../../src/lib/zk/client.js';
import { FakeEnsemble, VirtualClock } from '../helpers/zk-fake-ensemble.js';

const wall_base_ms = epoch_ms_default + 200_000_000;
const options: SnowflakeOptions = { layout: default_layout, epoch_ms: epoch_ms_default, datacenters: 1, max_backward_ms: 5, numbers: 'coordinator', session_timeout_ms: 3000 };

function every(clock: VirtualClock, ms: number, run: () => void): () => void {
  let cancel = clock.after(ms, function tick() {
    run();
    cancel = clock.after(ms, tick);
  });
  return () => cancel();
}

function startWorker(clock: VirtualClock, ensemble: FakeEnsemble, id: string) {
  const replies = new Map<number, Record<string, unknown>>();
  const reports: Record<string, unknown> = {};
  let next_msg = 1;
  const runtime: WorkerRuntime = {
    id,
    now: () => wall_base_ms + clock.now_ms,
    mono: () => clock.now_ms,
    clockOffset: () => 0,
    reply: (request, body) => void replies.set(request.body.msg_id!, body),
    replyError: (request, code, text) => void replies.set(request.body.msg_id!, { type: 'error', code, text }),
    after: (ms, run) => clock.after(ms, run),
    every: (ms, run) => every(clock, ms, run),
    reportState: (fields) => void Object.assign(reports, fields),
    log: () => undefined,
  };
  const numbers = new CoordinatorNumbers(
    { connect: () => ZkClient.connect(ensemble.transport(id), [...ensemble.ids], { timeout_ms: options.session_timeout_ms }), mono: () => clock.now_ms, after: (ms, run) => clock.after(ms, run), log: () => undefined },
    { node_id: id, datacenter: 0, worker_bits: 5 },
  );
  const worker = new SnowflakeWorker(runtime, options, numbers);
  worker.start();
  const generate = (): Record<string, unknown> | undefined => {
    const msg_id = next_msg++;
    const request: Envelope = { src: 'c1', dest: id, body: { type: 'generate', msg_id } };
    worker.generate(request);
    return replies.get(msg_id);
  };
  return { worker, reports, generate };
}

const holder = (ensemble: FakeEnsemble, worker: number) => {
  const read = ensemble.tree().getData(holderPath(0, worker));
  return read.ok ? read.value.data : null;
};

describe('worker numbers through the ZooKeeper client', () => {
  it('takes the lowest free numbers, stops serving when cut off before its session expires, and takes a number again', async () => {
    const clock = new VirtualClock();
    const ensemble = new FakeEnsemble(clock);
    const w1 = startWorker(clock, ensemble, 'w1');
    await clock.advance(100);
    const w2 = startWorker(clock, ensemble, 'w2');
    await clock.advance(100);
    expect([holder(ensemble, 0), holder(ensemble, 1)]).toEqual(['w1', 'w2']);
    const first = w1.generate();
    expect(decodeId(default_layout, epoch_ms_default, parseId(String(first?.id))).worker).toBe(0);

    ensemble.cutOff('w1');
    // The ensemble negotiates the 3 s asked for down to 20 ticks, 2 s, as ZooKeeper does.
    expect(w1.reports.session).toBe('connected');
    // Past two thirds of its 2 s session without a reply, it refuses (its lease ran out, or its client
    // already counts the session lost); the ensemble has not expired the session yet.
    await clock.advance(1500);
    expect(w1.generate()).toMatchObject({ type: 'error', text: expect.stringMatching(/no reply from the coordinator|session \S+ expired/) });
    expect(holder(ensemble, 0)).toBe('w1');
    // Expired: number 0 is free, and a new worker takes it.
    await clock.advance(1000);
    expect(holder(ensemble, 0)).toBeNull();
    const w3 = startWorker(clock, ensemble, 'w3');
    await clock.advance(100);
    expect(holder(ensemble, 0)).toBe('w3');
    expect(decodeId(default_layout, epoch_ms_default, parseId(String(w3.generate()?.id))).worker).toBe(0);
    // w1 comes back, learns its session expired, and takes the lowest free number: 2.
    ensemble.heal('w1');
    await clock.advance(2000);
    expect(holder(ensemble, 2)).toBe('w1');
    expect(w1.reports).toMatchObject({ worker: 2, session: 'connected' });
    expect(decodeId(default_layout, epoch_ms_default, parseId(String(w1.generate()?.id))).worker).toBe(2);
    expect(w2.reports.worker).toBe(1);
    ensemble.stop();
    for (const w of [w1, w2, w3]) w.worker.stop();
  });

  it('records the latest time it issued beside its number', async () => {
    const clock = new VirtualClock();
    const ensemble = new FakeEnsemble(clock);
    const w1 = startWorker(clock, ensemble, 'w1');
    await clock.advance(100);
    const issued = decodeId(default_layout, epoch_ms_default, parseId(String(w1.generate()?.id)));
    await clock.advance(record_interval_ms + 100);
    const read = ensemble.tree().getData(latestPath(0, 0));
    expect(read.ok && Number(read.value.data)).toBe(issued.time_ms);
    ensemble.stop();
    w1.worker.stop();
  });
});
