import { describe, expect, it } from 'vitest';
import { encodeCommand, RespError, RespParser, RespProtocolError } from '../../src/lib/proxy/resp.js';

describe('RESP client codec', () => {
  it('encodes a command as an array of bulk strings, counting bytes rather than characters', () => {
    expect(encodeCommand(['SET', 'k', 'é', 42]).toString()).toBe('*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$2\r\n42\r\n');
  });

  it('parses every reply type, across chunk boundaries, in order', () => {
    const wire = Buffer.from('+OK\r\n-ERR wrong type\r\n:17\r\n$5\r\nhe\r\no\r\n$-1\r\n*3\r\n$1\r\na\r\n*1\r\n:2\r\n$-1\r\n*-1\r\n');
    const parser = new RespParser();
    const replies = [];
    // One byte at a time: every split point inside a reply must wait for the rest.
    for (let i = 0; i < wire.length; i++) replies.push(...parser.push(wire.subarray(i, i + 1)));
    expect(replies).toEqual(['OK', new RespError('ERR wrong type'), 17, 'he\r\no', null, ['a', [2], null], null]);
  });

  it('refuses bytes that are not RESP', () => {
    expect(() => new RespParser().push(Buffer.from('HTTP/1.1 400\r\n'))).toThrow(RespProtocolError);
    expect(() => new RespParser().push(Buffer.from('$-5\r\n'))).toThrow(/bad bulk length/);
  });
});
