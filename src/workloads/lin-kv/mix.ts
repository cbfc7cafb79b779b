import { UserError } from '../../lib/util/errors.js';
import type { OperationMix } from './generator.js';

/** Parses "read=2,write=1" (unnamed operations get weight 0; with no weights at all, an error). */
export function parseMix(text: string): OperationMix {
  const mix: OperationMix = { read: 0, write: 0, cas: 0 };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^(read|write|cas)(?:=(\d+(?:\.\d+)?))?$/.exec(part);
    if (!match) throw new UserError(`bad --mix part "${part}": expected read, write or cas with an optional weight, like write=2`);
    mix[match[1] as keyof OperationMix] = match[2] === undefined ? 1 : Number(match[2]);
  }
  if (mix.read + mix.write + mix.cas <= 0) throw new UserError(`bad --mix "${text}": give at least one operation a positive weight`);
  return mix;
}
