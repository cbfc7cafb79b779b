import { describe, expect, it } from 'vitest';
import {
  continuesAfter,
  exit_code_bad_arguments,
  exit_code_internal_error,
  exit_code_invalid,
  exit_code_unknown,
  exit_code_valid,
  exitCodeForVerdict,
} from '../../src/maelstrom/exit-codes.js';

describe('exit codes', () => {
  it("are Jepsen's numbers, which wrappers of maelstrom test read", () => {
    expect([exit_code_valid, exit_code_invalid, exit_code_unknown, exit_code_bad_arguments, exit_code_internal_error]).toEqual([0, 1, 2, 254, 255]);
  });

  it('follow the verdict', () => {
    expect(exitCodeForVerdict('valid')).toBe(0);
    expect(exitCodeForVerdict('invalid')).toBe(1);
    expect(exitCodeForVerdict('unknown')).toBe(2);
  });

  it('repeated runs stop at the first run that is not valid', () => {
    expect(continuesAfter('valid')).toBe(true);
    expect(continuesAfter('invalid')).toBe(false);
    expect(continuesAfter('unknown')).toBe(false);
  });
});
