import { Flags, type Interfaces } from '@oclif/core';
import { describeDurationRange, describeNumberRange, parseDurationMs, parseNumberInRange, type Range } from '../lib/util/units.js';

/*
 * Flags that check their value against a range when they are parsed. The
 * message names the flag and the range, and --help shows the range, both from
 * the one limit the caller passes (the control API's, where there is one).
 */

interface RangedFlagOptions {
  description: string;
  range: Range;
  char?: Interfaces.OptionFlag<number>['char'];
  /** An environment variable whose value stands in for the flag when it is not given. */
  env?: string;
}

// Spelled out at each use: behind a type alias, oclif's parse no longer infers that a defaulted flag is never undefined.

/** A duration flag (250ms, 2s, 1m); the command receives milliseconds. `default` is written as a user would type it. */
export function durationFlag(options: RangedFlagOptions & { default: string; bare_ms?: boolean }): Interfaces.OptionFlag<number>;
export function durationFlag(options: RangedFlagOptions & { required: true; bare_ms?: boolean }): Interfaces.OptionFlag<number>;
export function durationFlag(options: RangedFlagOptions & { bare_ms?: boolean }): Interfaces.OptionFlag<number | undefined>;
export function durationFlag(
  options: RangedFlagOptions & { default?: string; required?: true; bare_ms?: boolean },
): Interfaces.OptionFlag<number> | Interfaces.OptionFlag<number | undefined> {
  const parse = (text: string, what: string) => parseDurationMs(text, what, { range: options.range, bare_ms: options.bare_ms });
  return customFlag({
    description: `${options.description} (${describeDurationRange(options.range)})`,
    helpValue: 'DURATION',
    ...(options.required ? { required: true } : {}),
    parse: async (input, _context, flag) => parse(input, `--${flag.name}`),
    ...(options.default === undefined ? {} : { default: parse(options.default, 'default'), defaultHelp: async () => options.default }),
  });
}

/** A whole-number flag. */
export function integerFlag(options: RangedFlagOptions & { default: number }): Interfaces.OptionFlag<number>;
export function integerFlag(options: RangedFlagOptions): Interfaces.OptionFlag<number | undefined>;
export function integerFlag(options: RangedFlagOptions & { default?: number }): Interfaces.OptionFlag<number> | Interfaces.OptionFlag<number | undefined> {
  return numeric(options, true);
}

/** A number flag that may have a fraction (a rate). */
export function numberFlag(options: RangedFlagOptions & { default: number }): Interfaces.OptionFlag<number>;
export function numberFlag(options: RangedFlagOptions): Interfaces.OptionFlag<number | undefined>;
export function numberFlag(options: RangedFlagOptions & { default?: number }): Interfaces.OptionFlag<number> | Interfaces.OptionFlag<number | undefined> {
  return numeric(options, false);
}

function numeric(options: RangedFlagOptions & { default?: number }, integer: boolean): Interfaces.OptionFlag<number> | Interfaces.OptionFlag<number | undefined> {
  return customFlag({
    description: `${options.description} (${describeNumberRange(options.range)})`,
    ...(options.char ? { char: options.char } : {}),
    ...(options.env ? { env: options.env } : {}),
    parse: async (input, _context, flag) => parseNumberInRange(input, `--${flag.name}`, options.range, integer),
    ...(options.default === undefined ? {} : { default: options.default }),
  });
}

/** Flags.custom's overloads tie the result's type to literal options; ours are built, so the overloads above state the types instead. */
function customFlag(definition: Partial<Interfaces.OptionFlag<number>>): Interfaces.OptionFlag<number> {
  return (Flags.custom as (definition: Partial<Interfaces.OptionFlag<number>>) => () => Interfaces.OptionFlag<number>)(definition)();
}
