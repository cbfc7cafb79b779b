import { describe, expect, it } from 'vitest';
import { type AppFault, no_app_fault } from '../../src/lib/faults/app-fault.js';
import { encodeCommand, RespFramer } from '../../src/lib/proxy/resp.js';
import { injected_error_reply, RespLink, replyRecord } from '../../src/lib/proxy/resp-link.js';

function link(fault: AppFault = no_app_fault, draws: number[] = []) {
  const traced: { src: string; dest: string; body: Record<string, unknown> }[] = [];
  let next = 0;
  const host = { fault: () => fault, trace: (line: string) => void traced.push(JSON.parse(line)), nextId: () => ++next, random: () => draws.shift() ?? 0.99 };
  return { resp: new RespLink(host, 's1', 'redis1'), traced, setFault: (f: AppFault) => (fault = f) };
}

const get = (key: string) => encodeCommand(['GET', key]);

describe('RESP framing on a redis link', () => {
  it('splits a stream into whole values with their bytes unchanged, across chunk boundaries', () => {
    const framer = new RespFramer();
    // A value that is not UTF-8 (0xff) comes through byte for byte.
    const bytes = Buffer.concat([get('a'), Buffer.from('+OK\r\n$3\r\n'), Buffer.from([0x61, 0x62, 0xff]), Buffer.from('\r\n')]);
    const values = [...framer.push(bytes.subarray(0, 7)), ...framer.push(bytes.subarray(7))];
    expect(values.map((v) => v.length)).toEqual([get('a').length, 5, 9]);
    expect(Buffer.concat(values).equals(bytes)).toBe(true);
  });

  it('frames RESP3 replies (maps, sets, doubles, nulls, booleans, blob errors) as whole values', () => {
    const framer = new RespFramer();
    const replies = ['%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n', '~2\r\n:1\r\n:2\r\n', ',1.5\r\n', '_\r\n', '#t\r\n', '!9\r\nERR oops!\r\n'];
    expect(framer.push(Buffer.from(replies.join(''))).map((raw) => raw.toString())).toEqual(replies);
    expect(replyRecord(Buffer.from('!9\r\nERR oops!\r\n'))).toEqual({ type: 'error', code: 12 });
  });

  it('passes commands on whole, pairs replies in order, and traces each as a work message and its answer', () => {
    const { resp, traced } = link();
    const half = get('k1').subarray(0, 5);
    expect(resp.fromClient(half).length).toBe(0);
    const forwarded = resp.fromClient(Buffer.concat([get('k1').subarray(5), encodeCommand(['GET'])]));
    expect(forwarded.equals(Buffer.concat([get('k1'), encodeCommand(['GET'])]))).toBe(true);
    resp.fromServer(Buffer.from("$1\r\nv\r\n-ERR wrong number of arguments for 'get' command\r\n"));
    expect(resp.release().map((r) => r.data.toString())).toEqual(['$1\r\nv\r\n', "-ERR wrong number of arguments for 'get' command\r\n"]);
    expect(traced.map((t) => [t.src, t.dest, t.body])).toEqual([
      ['s1', 'redis1', { type: 'work', msg_id: 1, command: 'GET' }],
      ['s1', 'redis1', { type: 'work', msg_id: 2, command: 'GET' }],
      ['redis1', 's1', { type: 'work_ok', in_reply_to: 1 }],
      ['redis1', 's1', { type: 'error', code: 12, in_reply_to: 2 }],
    ]);
    expect(() => resp.fromServer(Buffer.from('+OK\r\n'))).toThrow('no command awaits');
  });

  it('answers the share of commands an errors fault fails itself, after the replies to the commands before them', () => {
    const { resp, traced } = link({ errors_pct: 50, latency_ms: 0, hang: false }, [0.9, 0.1]);
    const forwarded = resp.fromClient(Buffer.concat([get('a'), get('b')]));
    // The second command drew under 50%: the proxy answers it, and only the first goes on.
    expect(forwarded.equals(get('a'))).toBe(true);
    expect(resp.release()).toEqual([]);
    resp.fromServer(Buffer.from('$-1\r\n'));
    expect(resp.release().map((r) => r.data.toString())).toEqual(['$-1\r\n', injected_error_reply]);
    expect(traced.filter((t) => t.src === 'redis1').map((t) => t.body)).toEqual([{ type: 'work_ok', in_reply_to: 1 }, { type: 'error', code: 13, in_reply_to: 2 }]);
  });

  it('holds replies by the latency fault, and drops them (untraced) while it hangs', () => {
    const { resp, traced, setFault } = link({ errors_pct: 0, latency_ms: 800, hang: false });
    resp.fromClient(get('a'));
    resp.fromServer(Buffer.from('$1\r\nx\r\n'));
    expect(resp.release().map((r) => r.hold_ms)).toEqual([800]);
    setFault({ errors_pct: 100, latency_ms: 0, hang: true });
    // A hang forwards (no errors are drawn) and answers nothing.
    expect(resp.fromClient(get('b')).equals(get('b'))).toBe(true);
    resp.fromServer(Buffer.from('$1\r\ny\r\n'));
    expect(resp.release()).toEqual([]);
    expect(traced.filter((t) => t.src === 'redis1')).toHaveLength(1);
  });

  it('reads an error reply as the command\'s fault (ERR, WRONGTYPE) or the server\'s', () => {
    expect(replyRecord(Buffer.from('+OK\r\n'))).toEqual({ type: 'work_ok' });
    expect(replyRecord(Buffer.from('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'))).toEqual({ type: 'error', code: 12 });
    expect(replyRecord(Buffer.from('-BUSY injected failure\r\n'))).toEqual({ type: 'error', code: 13 });
  });
});
