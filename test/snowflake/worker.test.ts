import { describe, expect, it } from 'vitest';
import { error_codes } from '../../src/lib/protocol/messages.js';
import { epoch_ms_default, decodeId, parseId } from '../../src/systems/snowflake/core/ids.js';
import { default_layout, parseLayout } from '../../src/systems/snowflake/core/layout.js';
import { SnowflakeWorker } from '../../src/systems/snowflake/host.js';
import { CoordinatorNumbers, StaticNumbers, holderPath, latestPath, type WorkerNumbers } from '../../src/systems/snowflake/numbers.js';
import { generate_count_max, record_interval_ms, type SnowflakeOptions } from '../../src/systems/snowflake/options.js';
import { reserve_ms, TimeFloor } from '../../src/systems/snowflake/storage.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { FakeCoordinator, FakeRuntime, ManualClock } from './fakes.js';

const tempDir = tempDirs('dslab-snowflake-');

const wall_base_ms = epoch_ms_default + 100_000_000;
const options: SnowflakeOptions = { layout: default_layout, epoch_ms: epoch_ms_default, datacenters: 1, max_backward_ms: 5, numbers: 'coordinator', session_timeout_ms: 3000 };

function staticWorker(position = 0, over: Partial<SnowflakeOptions> = {}) {
  const clock = new ManualClock();
  const runtime = new FakeRuntime(`w${position + 1}`, clock, wall_base_ms);
  const opts = { ...options, numbers: 'static' as const, ...over };
  const worker = new SnowflakeWorker(runtime, opts, new StaticNumbers(position, opts.datacenters, opts.layout.worker_bits));
  worker.start();
  return { clock, runtime, worker };
}

function coordinated(zk: FakeCoordinator, id: string, datacenter = 0) {
  const runtime = new FakeRuntime(id, zk.clock, wall_base_ms);
  const numbers = new CoordinatorNumbers({ connect: () => zk.connect(options.session_timeout_ms), mono: () => zk.clock.mono_ms, after: (ms, run) => zk.clock.after(ms, run), log: (t) => runtime.log(t) }, { node_id: id, datacenter, worker_bits: 5 });
  const worker = new SnowflakeWorker(runtime, options, numbers);
  worker.start();
  return { runtime, worker, numbers };
}

const idOf = (body: Record<string, unknown> | undefined) => decodeId(default_layout, epoch_ms_default, parseId(String(body?.id)));

describe('a worker with a static number', () => {
  it('answers generate with one decimal id and generate with count with ids, all increasing', async () => {
    const { runtime, worker, clock } = staticWorker(2, { datacenters: 2 });
    const one = runtime.request();
    worker.generate(one);
    const batch = runtime.request(50);
    worker.generate(batch);
    await clock.advance(0);
    const single = runtime.replyTo(one)!;
    expect(single.type).toBe('generate_ok');
    expect(typeof single.id).toBe('string');
    // Position 3 over 2 datacenters: datacenter 0, worker 1.
    expect(idOf(single)).toMatchObject({ datacenter: 0, worker: 1, since_epoch_ms: 100_001_000 });
    const ids = (runtime.replyTo(batch)!.ids as string[]).map(parseId);
    expect(ids).toHaveLength(50);
    expect(ids[0]! > parseId(String(single.id))).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });

  it('refuses a count outside 1..generate_count_max as malformed', async () => {
    const { runtime, worker } = staticWorker();
    for (const count of [0, generate_count_max + 1, 2.5, 'ten']) {
      const request = runtime.request();
      request.body.count = count;
      worker.generate(request);
      expect(runtime.replyTo(request)).toMatchObject({ type: 'error', code: error_codes.malformed_request });
    }
  });

  it('waits for the next millisecond when a batch wraps the sequence', async () => {
    const { runtime, worker, clock } = staticWorker();
    const batch = runtime.request(5000);
    worker.generate(batch);
    expect(runtime.replyTo(batch)).toBeUndefined();
    await clock.advance(1);
    const ids = (runtime.replyTo(batch)!.ids as string[]).map((id) => decodeId(default_layout, epoch_ms_default, parseId(id)));
    expect(ids).toHaveLength(5000);
    expect(ids[4095]).toMatchObject({ sequence: 4095 });
    expect(ids[4096]).toMatchObject({ sequence: 0, units: ids[4095]!.units + 1 });
  });

  it('waits out a small step back, and refuses a larger one saying by how much until the clock catches up', async () => {
    const { runtime, worker, clock } = staticWorker();
    const first = runtime.request();
    worker.generate(first);
    runtime.skew_ms = -4;
    const small = runtime.request();
    worker.generate(small);
    expect(runtime.replyTo(small)).toBeUndefined();
    expect(worker.mode().mode).toBe('waiting');
    await clock.advance(4);
    expect(idOf(runtime.replyTo(small)).units).toBe(idOf(runtime.replyTo(first)).units);
    runtime.skew_ms = -2004;
    const big = runtime.request();
    worker.generate(big);
    expect(runtime.replyTo(big)).toMatchObject({ type: 'error', code: error_codes.temporarily_unavailable, text: expect.stringMatching(/^the clock is 2000 ms behind the latest time issued .*more than --max-backward 5 ms/) });
    await clock.advance(600);
    expect(runtime.reports).toMatchObject({ role: 'refusing', clock_offset_ms: -2004, refusal: expect.stringContaining('ms behind') });
    await clock.advance(1500);
    const again = runtime.request();
    worker.generate(again);
    expect(runtime.replyTo(again)).toMatchObject({ type: 'generate_ok' });
    // The next report says so.
    await clock.advance(500);
    expect(runtime.reports.role).toBe('serving');
  });

  it('refuses when its position does not fit the worker bits', () => {
    const { runtime, worker } = staticWorker(40);
    const request = runtime.request();
    worker.generate(request);
    expect(runtime.replyTo(request)).toMatchObject({ type: 'error', text: expect.stringMatching(/worker number 40 .* does not fit 5 bits/) });
    expect(runtime.reports.role).toBe('refusing');
  });

  it('uses the Sonyflake layout when told', async () => {
    const sony = parseLayout('sonyflake');
    const { runtime, worker, clock } = staticWorker(7, { layout: sony });
    const request = runtime.request(300);
    worker.generate(request);
    await clock.advance(10);
    const ids = (runtime.replyTo(request)!.ids as string[]).map((id) => decodeId(sony, epoch_ms_default, parseId(id)));
    expect(ids[0]).toMatchObject({ worker: 7, datacenter: 0, sequence: 0 });
    expect(ids[256]!.units).toBe(ids[0]!.units + 1);
  });
});

describe('worker numbers from the coordinator', () => {
  it('refuses to serve until it holds a number, then holds the lowest free one as an ephemeral znode', async () => {
    const clock = new ManualClock();
    const zk = new FakeCoordinator(clock);
    zk.unavailable = true;
    const a = coordinated(zk, 'w1');
    const early = a.runtime.request();
    a.worker.generate(early);
    expect(a.runtime.replyTo(early)).toMatchObject({ type: 'error', code: error_codes.temporarily_unavailable, text: expect.stringContaining('no worker number') });
    zk.unavailable = false;
    await clock.advance(100);
    const b = coordinated(zk, 'w2');
    await clock.advance(10);
    expect(zk.holderOf(holderPath(0, 0))).toBe('w1');
    expect(zk.holderOf(holderPath(0, 1))).toBe('w2');
    const request = b.runtime.request();
    b.worker.generate(request);
    expect(idOf(b.runtime.replyTo(request)).worker).toBe(1);
    expect(b.runtime.reports).toMatchObject({ role: 'serving', worker: 1, session: 'connected' });
  });

  it('stops serving before its session could expire, and takes a number again after it expired', async () => {
    const clock = new ManualClock();
    const zk = new FakeCoordinator(clock);
    const a = coordinated(zk, 'w1');
    await clock.advance(10);
    const session = [...zk.sessions.values()][0]!;
    // No reply for 2 s of a 3 s session: it must not issue any more.
    await clock.advance(2000);
    const late = a.runtime.request();
    a.worker.generate(late);
    expect(a.runtime.replyTo(late)).toMatchObject({ type: 'error', text: expect.stringMatching(/no reply from the coordinator for \d+ ms \(a worker stops at 2000 ms/) });
    // Meanwhile its number went to another worker.
    zk.expire(session.session);
    const b = coordinated(zk, 'w2');
    await clock.advance(10);
    expect(zk.holderOf(holderPath(0, 0))).toBe('w2');
    // w1 took a number again, the next free one.
    await clock.advance(600);
    expect(zk.holderOf(holderPath(0, 1))).toBe('w1');
    const after = a.runtime.request();
    a.worker.generate(after);
    expect(idOf(a.runtime.replyTo(after)).worker).toBe(1);
    expect(b.runtime.reports.worker).toBe(0);
  });

  it('records its latest time, and a later holder of the number issues nothing at or before it', async () => {
    const clock = new ManualClock();
    const zk = new FakeCoordinator(clock);
    const a = coordinated(zk, 'w1');
    await clock.advance(10);
    const first = a.runtime.request();
    a.worker.generate(first);
    const issued = idOf(a.runtime.replyTo(first));
    await clock.advance(record_interval_ms + 10);
    expect(Number(zk.holderOf(latestPath(0, 0)))).toBe(issued.time_ms);
    // w1 goes; w2 takes number 0 with a clock 3 s behind the record.
    a.worker.stop();
    await clock.advance(10);
    const b = coordinated(zk, 'w2');
    b.runtime.skew_ms = -(record_interval_ms + 3000);
    await clock.advance(10);
    const request = b.runtime.request();
    b.worker.generate(request);
    expect(b.runtime.replyTo(request)).toMatchObject({ type: 'error', text: expect.stringContaining('ms behind the latest time issued') });
    b.runtime.skew_ms = 0;
    const later = b.runtime.request();
    b.worker.generate(later);
    expect(idOf(b.runtime.replyTo(later)).time_ms).toBeGreaterThan(issued.time_ms);
  });
});

describe("a worker's own time record", () => {
  it('keeps a time at or beyond every id on disk, reserving ahead, and survives reopening', () => {
    const dir = tempDir();
    const floor = TimeFloor.open(dir);
    expect(floor.ceiling).toBe(0);
    floor.cover(10_000);
    expect(floor.ceiling).toBe(10_000 + reserve_ms);
    // Within the reserve nothing is written.
    floor.cover(10_000 + reserve_ms - 1);
    expect(floor.ceiling).toBe(10_000 + reserve_ms);
    floor.cover(20_000);
    floor.close();
    expect(TimeFloor.open(dir).ceiling).toBe(20_000 + reserve_ms);
  });

  it('makes a restarted worker refuse ids at or before what it may have issued, even with its clock set back', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const start = (skew_ms: number) => {
      const runtime = new FakeRuntime('w1', clock, wall_base_ms);
      runtime.skew_ms = skew_ms;
      const worker = new SnowflakeWorker(runtime, { ...options, numbers: 'static' }, new StaticNumbers(0, 1, 5), TimeFloor.open(dir));
      worker.start();
      return { runtime, worker };
    };
    const first = start(0);
    const before = first.runtime.request(100);
    first.worker.generate(before);
    const issued = (first.runtime.replyTo(before)!.ids as string[]).map(parseId);
    first.worker.stop();
    // Restarted at once with a good clock: it waits out the rest of its reservation, then serves.
    const quick = start(0);
    const waited = quick.runtime.request();
    quick.worker.generate(waited);
    expect(quick.runtime.replyTo(waited)).toBeUndefined();
    // The reserved millisecond itself counts as used.
    await clock.advance(reserve_ms + 1);
    expect(parseId(String(quick.runtime.replyTo(waited)!.id)) > issued[issued.length - 1]!).toBe(true);
    quick.worker.stop();
    // Restarted 100 ms later with its clock 1 s back: it would repeat the same times.
    await clock.advance(100);
    const again = start(-1000);
    const refused = again.runtime.request();
    again.worker.generate(refused);
    expect(again.runtime.replyTo(refused)).toMatchObject({ type: 'error', text: expect.stringMatching(/^the clock is \d+ ms behind the latest time issued/) });
    // Once its clock is past the record, its ids are above every earlier one.
    again.runtime.skew_ms = 0;
    await clock.advance(reserve_ms);
    const later = again.runtime.request();
    again.worker.generate(later);
    expect(parseId(String(again.runtime.replyTo(later)!.id)) > issued[issued.length - 1]!).toBe(true);
  });
});

describe('the numbers a worker can hold', () => {
  it('statically: position over datacenters', () => {
    const numbers: WorkerNumbers = new StaticNumbers(5, 2, 5);
    expect(numbers.holding).toEqual({ datacenter: 1, worker: 2, floor_ms: null });
    expect(numbers.unavailable(0)).toBeNull();
  });
});
