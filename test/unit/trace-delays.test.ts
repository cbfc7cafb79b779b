// How the trace records a message held by a delay (delays_ms), and how the breaker's reader uses it:
// the writer, the router, the redis link proxy, and the reader, each on delayed and duplicated messages.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppFault, no_app_fault } from '../../src/lib/faults/app-fault.js';
import { FaultModel } from '../../src/lib/faults/fault-model.js';
import { LinkProxy, linkFateFromModel } from '../../src/lib/proxy/link-proxy.js';
import { encodeCommand } from '../../src/lib/proxy/resp.js';
import { firstArrivalMs, traceWindow, type TraceRecord } from '../../src/lib/report/trace-file.js';
import { delayed_messages_max, Router } from '../../src/lib/supervisor/router.js';
import { TraceWriter } from '../../src/lib/supervisor/trace.js';
import { createRng } from '../../src/lib/util/prng.js';
import type { ResilienceConfig } from '../../src/systems/breaker/core/index.js';
import { BreakerRecordBuilder } from '../../src/systems/breaker/trace-read.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { connectClient, startEchoServer, until } from '../proxy/tcp-helpers.js';

const scratchDir = tempDirs('dslab-trace-delays-');

async function written(write: (trace: TraceWriter) => void | Promise<void>): Promise<{ lines: string[]; file: string }> {
  const file = path.join(scratchDir(), 'trace.jsonl');
  const trace = new TraceWriter(file);
  await write(trace);
  await trace.close();
  return { lines: readFileSync(file, 'utf8').trim().split('\n'), file };
}

describe('the trace writer', () => {
  it('writes delays_ms only when some copy waits, and a reader that knows nothing of it reads the line as before', async () => {
    const msg = (n: number) => JSON.stringify({ src: 's1', dest: 'd1', body: { type: 'work', msg_id: n } });
    const { lines, file } = await written((trace) => {
      trace.record(100, 'delivered', msg(1));
      trace.record(101, 'duplicated', msg(2), [0, 0]);
      trace.record(102, 'delivered', msg(3), [250]);
      trace.record(103, 'duplicated', msg(4), [0, 40]);
    });
    expect(lines).toEqual([
      `{"t":100,"fate":"delivered","msg":${msg(1)}}`,
      `{"t":101,"fate":"duplicated","msg":${msg(2)}}`,
      `{"t":102,"fate":"delivered","delays_ms":[250],"msg":${msg(3)}}`,
      `{"t":103,"fate":"duplicated","delays_ms":[0,40],"msg":${msg(4)}}`,
    ]);
    // The time still leads the line, so a reader seeking by time finds every record.
    expect(traceWindow(file, 102, 103).map((r) => [r.t, r.msg.body.msg_id, r.delays_ms])).toEqual([
      [102, 3, [250]],
      [103, 4, [0, 40]],
    ]);
  });

  it("takes a copy's arrival as t plus the shortest delay", () => {
    expect(firstArrivalMs({ t: 1000 })).toBe(1000);
    expect(firstArrivalMs({ t: 1000, delays_ms: [250] })).toBe(1250);
    expect(firstArrivalMs({ t: 1000, delays_ms: [300, 20] })).toBe(1020);
  });
});

describe('the router', () => {
  const line = (src: string, dest: string, n: number) => JSON.stringify({ src, dest, body: { type: 'ping', msg_id: n } });

  it('traces each delivered copy’s delay when a link is delayed, and none when it is not', async () => {
    const { lines } = await written(async (trace) => {
      const router = new Router(['n1', 'n2'], createRng(1), trace, () => true);
      router.route('n1', 'n2', line('n1', 'n2', 1), 10);
      router.faults.setLinkFaults({ delay_ms: 30 });
      router.route('n1', 'n2', line('n1', 'n2', 2), 11);
      router.faults.setLinkFaults({ delay_ms: 30, duplicate: 1 });
      router.route('n2', 'n1', line('n2', 'n1', 3), 12);
      router.stop();
    });
    const records = lines.map((l) => JSON.parse(l) as TraceRecord);
    expect(records.map((r) => [r.t, r.fate, r.msg.body.msg_id, r.delays_ms])).toEqual([
      [10, 'delivered', 1, undefined],
      [11, 'delivered', 2, [30]],
      [12, 'duplicated', 3, [30, 30]],
    ]);
  });

  it('traces a message none of whose copies it could hold as dropped:overflow, and lists only the copies it held', async () => {
    const { lines } = await written(async (trace) => {
      const router = new Router(['n1', 'n2'], createRng(1), trace, () => true);
      router.faults.setLinkFaults({ delay_ms: 60_000 });
      for (let n = 1; n < delayed_messages_max; n++) router.route('n1', 'n2', line('n1', 'n2', n), 10);
      // One place left: of a duplicated message's two delayed copies, one is held.
      router.faults.setLinkFaults({ delay_ms: 60_000, duplicate: 1 });
      router.route('n1', 'n2', line('n1', 'n2', -1), 11);
      router.route('n1', 'n2', line('n1', 'n2', -2), 12);
      expect(router.linkCounters().find((r) => r.link === 'n1->n2')!.counters).toEqual({ delivered: delayed_messages_max, dropped: 1, duplicated: 0 });
      router.stop();
    });
    expect(lines.slice(-2).map((l) => JSON.parse(l) as TraceRecord).map((r) => [r.fate, r.msg.body.msg_id, r.delays_ms])).toEqual([
      ['delivered', -1, [60_000]],
      ['dropped:overflow', -2, undefined],
    ]);
  });
});

describe('the redis link proxy', () => {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  it("traces each reply with how long it is held: the latency fault plus the link's delay", async () => {
    // An echo server answers a command with the command itself: a RESP array, so a work_ok to the proxy.
    const echo = await startEchoServer();
    const model = new FaultModel(['s1', 'redis1']);
    let fault: AppFault = no_app_fault;
    const traced: { body: Record<string, unknown>; delay_ms: number | undefined }[] = [];
    let next_id = 0;
    const proxy = await LinkProxy.start({
      client: 's1',
      server: 'redis1',
      target: () => ({ host: '127.0.0.1', port: echo.port }),
      fate: linkFateFromModel(model, 's1', 'redis1', createRng(3).next),
      resp: { fault: () => fault, trace: (text, delay_ms) => void traced.push({ body: JSON.parse(text).body, delay_ms }), nextId: () => ++next_id, random: () => 0.99 },
    });
    const client = connectClient(proxy.address);
    cleanups.push(async () => {
      client.socket.destroy();
      await proxy.close();
      await echo.close();
    });
    const command = encodeCommand(['GET', 'k']);
    client.socket.write(command);
    await until(() => client.received().length >= command.length, 'the first reply');
    model.setLinkFaults({ delay_ms: 40 }, ['s1', 'redis1']);
    proxy.faultsChanged();
    fault = { errors_pct: 0, latency_ms: 100, hang: false };
    client.socket.write(command);
    await until(() => client.received().length >= 2 * command.length, 'the held reply');
    const replies = traced.filter((t) => t.body.type === 'work_ok');
    expect(replies.map((r) => r.body.in_reply_to)).toEqual([1, 2]);
    expect(replies[0]!.delay_ms).toBe(0);
    // The reply waits the latency fault (100) and the link's delay back (40), counted from when the
    // server's reply reached the proxy (the trace is written a moment later, so up to 140 in all).
    expect(replies[1]!.delay_ms).toBeGreaterThan(100);
    expect(replies[1]!.delay_ms).toBeLessThanOrEqual(140);
  });
});

describe("the breaker's reader", () => {
  const members = { services: ['s1'], dependency: 'd1' };
  const config = { preset: 'dslab' } as unknown as ResilienceConfig;
  const rec = (t: number, src: string, dest: string, body: Record<string, unknown>, delays_ms?: number[]): TraceRecord => ({
    t,
    fate: (delays_ms?.length ?? 1) > 1 ? 'duplicated' : 'delivered',
    ...(delays_ms ? { delays_ms } : {}),
    msg: { src, dest, body: body as TraceRecord['msg']['body'] },
  });
  const read = (records: TraceRecord[]) => {
    const builder = new BreakerRecordBuilder(members, config);
    for (const r of records) builder.push(r);
    return builder.finish();
  };

  it('times a request from when the call reached the service, and its reply from when the service sent it', () => {
    const record = read([
      rec(1000, 'c1', 's1', { type: 'call', msg_id: 1 }, [150]),
      // The reply to the client is delayed too: the service had answered at 1180 all the same.
      rec(1180, 's1', 'c1', { type: 'error', code: 11, outcome: 'short_circuited', attempts: 0, in_reply_to: 1 }, [90]),
    ]);
    expect(record.requests).toEqual([{ service: 's1', client: 'c1', sent_ms: 1150, answered_ms: 1180, outcome: 'short_circuited', attempts: 0 }]);
    // The record runs until the last copy could have arrived.
    expect(record.end_ms).toBe(1270);
  });

  it("times a call from when the service sent it, and its answer from the answer's first copy to arrive", () => {
    const record = read([
      // Sent at 2000 (its own delay to d1 does not move when the service's timer started).
      rec(2000, 's1', 'd1', { type: 'work', msg_id: 7, attempt: 1 }, [300]),
      rec(2320, 'd1', 's1', { type: 'work_ok', in_reply_to: 7 }, [400, 50]),
      rec(3000, 's1', 'd1', { type: 'work', msg_id: 8, attempt: 1 }),
      rec(3020, 'd1', 's1', { type: 'work_ok', in_reply_to: 8 }, [700]),
    ]);
    expect(record.calls).toEqual([
      { service: 's1', sent_ms: 2000, answered_ms: 2370, result: 'success', attempt: 1 },
      { service: 's1', sent_ms: 3000, answered_ms: 3720, result: 'success', attempt: 1 },
    ]);
  });

  it('takes the earliest answer to a duplicated call, though a later line carries it', () => {
    const record = read([
      rec(2000, 's1', 'd1', { type: 'work', msg_id: 7, attempt: 1 }, [0, 100]),
      // d1 answered the first copy with an error that waited 500 ms; the second copy's success came first.
      rec(2020, 'd1', 's1', { type: 'error', code: 13, in_reply_to: 7 }, [500]),
      rec(2120, 'd1', 's1', { type: 'work_ok', in_reply_to: 7 }, [10]),
      rec(3000, 's1', 'd1', { type: 'work', msg_id: 8, attempt: 1 }),
      rec(3020, 'd1', 's1', { type: 'error', code: 13, in_reply_to: 8 }),
      // An answer to a copy that arrived after the first answer changes nothing.
      rec(3030, 'd1', 's1', { type: 'work_ok', in_reply_to: 8 }),
    ]);
    expect(record.calls.map((c) => [c.answered_ms, c.result])).toEqual([
      [2130, 'success'],
      [3020, 'failure'],
    ]);
  });
});
