import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/lib/protocol/messages.js';

/** The reason a line is refused, or "ok". */
function verdict(line: string): string {
  const parsed = parseEnvelope(line);
  return parsed.ok ? 'ok' : parsed.reason;
}

describe('envelope validation', () => {
  it('accepts a well-formed message and keeps its fields', () => {
    const parsed = parseEnvelope('{"src":"n1","dest":"c1","body":{"type":"echo_ok","in_reply_to":3,"echo":"hi"}}');
    expect(parsed).toEqual({ ok: true, envelope: { src: 'n1', dest: 'c1', body: { type: 'echo_ok', in_reply_to: 3, echo: 'hi' } } });
  });

  it('tells a line that is not JSON from JSON that is not an object', () => {
    expect(verdict('starting node n1')).toBe('not JSON');
    expect(verdict('{"src":"n1",')).toBe('not JSON');
    expect(verdict('[1,2]')).toBe('not a JSON object');
    expect(verdict('42')).toBe('not a JSON object');
    expect(verdict('null')).toBe('not a JSON object');
  });

  it('names the field that is wrong and what it holds instead', () => {
    // A Ruby node answering before its init finished: it has no id yet.
    expect(verdict('{"src":null,"dest":"c0","body":{"type":"init_ok","in_reply_to":1}}')).toBe('src is null');
    expect(verdict('{"dest":"c0","body":{"type":"init_ok"}}')).toBe('src is missing');
    expect(verdict('{"src":1,"dest":"c0","body":{"type":"init_ok"}}')).toBe('src is a number, not a string');
    expect(verdict('{"src":"n1","dest":["c0"],"body":{"type":"x"}}')).toBe('dest is an array, not a string');
    expect(verdict('{"src":"n1","dest":{"id":"c0"},"body":{"type":"x"}}')).toBe('dest is an object, not a string');
    expect(verdict('{"src":"n1","dest":"c0"}')).toBe('body is missing');
    expect(verdict('{"src":"n1","dest":"c0","body":"init_ok"}')).toBe('body is a string, not an object');
    expect(verdict('{"src":"n1","dest":"c0","body":[]}')).toBe('body is an array, not an object');
    expect(verdict('{"src":"n1","dest":"c0","body":{"in_reply_to":1}}')).toBe('body.type is missing');
    expect(verdict('{"src":"n1","dest":"c0","body":{"type":false}}')).toBe('body.type is a boolean, not a string');
  });

  it('names the first wrong field when several are wrong', () => {
    expect(verdict('{"src":null,"dest":null,"body":null}')).toBe('src is null');
    expect(verdict('{"src":"n1","dest":null,"body":{}}')).toBe('dest is null');
  });
});
