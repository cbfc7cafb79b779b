// Composing, decoding and parsing snowflake ids, and their epoch. Pure: no I/O, no clock.

import type { Layout } from './layout.js';

/**
 * Ids are BigInts in the code and decimal strings on the wire: a JavaScript
 * number holds integers exactly only up to 2^53, and an id has 63 bits.
 */

/** 2018-08-01T00:00:00Z: the default custom epoch. */
export const epoch_ms_default = Date.UTC(2018, 7, 1);

/** The parts of one id. */
export interface IdParts {
  /** Time units since the epoch. */
  units: number;
  datacenter: number;
  worker: number;
  sequence: number;
}

export interface DecodedId extends IdParts {
  /** The start of the id's time unit, ms since 1970 (UTC). */
  time_ms: number;
  /** The same, ms since the layout's custom epoch. */
  since_epoch_ms: number;
}

/** The shifts of each field (sequence at bit 0). */
export function fieldShifts(layout: Layout): { time: bigint; datacenter: bigint; worker: bigint } {
  const worker = BigInt(layout.sequence_bits);
  const datacenter = worker + BigInt(layout.worker_bits);
  return { time: datacenter + BigInt(layout.datacenter_bits), datacenter, worker };
}

function fits(value: number, bits: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value < 2 ** bits;
}

/** Puts the parts together; throws a RangeError when a part does not fit its bits (it would spill into the next field). */
export function composeId(layout: Layout, parts: IdParts): bigint {
  if (!fits(parts.units, layout.time_bits)) throw new RangeError(`time ${parts.units} does not fit ${layout.time_bits} bits`);
  if (!fits(parts.datacenter, layout.datacenter_bits)) throw new RangeError(`datacenter ${parts.datacenter} does not fit ${layout.datacenter_bits} bits (0 to ${2 ** layout.datacenter_bits - 1})`);
  if (!fits(parts.worker, layout.worker_bits)) throw new RangeError(`worker ${parts.worker} does not fit ${layout.worker_bits} bits (0 to ${2 ** layout.worker_bits - 1})`);
  if (!fits(parts.sequence, layout.sequence_bits)) throw new RangeError(`sequence ${parts.sequence} does not fit ${layout.sequence_bits} bits`);
  const shift = fieldShifts(layout);
  return (BigInt(parts.units) << shift.time) | (BigInt(parts.datacenter) << shift.datacenter) | (BigInt(parts.worker) << shift.worker) | BigInt(parts.sequence);
}

const id_max = (1n << 63n) - 1n;

/** Reads a decimal id; throws an Error saying why the text is not one. */
export function parseId(text: string): bigint {
  const trimmed = text.trim();
  if (!/^\d{1,19}$/.test(trimmed)) throw new Error(`"${text}" is not an id: ids are decimal numbers of at most 19 digits`);
  const id = BigInt(trimmed);
  if (id > id_max) throw new Error(`${trimmed} is not an id: it does not fit 63 bits`);
  return id;
}

function field(id: bigint, shift: bigint, bits: number): number {
  return Number((id >> shift) & ((1n << BigInt(bits)) - 1n));
}

export function decodeId(layout: Layout, epoch_ms: number, id: bigint): DecodedId {
  const shift = fieldShifts(layout);
  const units = Number(id >> shift.time);
  const since_epoch_ms = units * layout.unit_ms;
  return {
    units,
    datacenter: field(id, shift.datacenter, layout.datacenter_bits),
    worker: field(id, shift.worker, layout.worker_bits),
    sequence: field(id, 0n, layout.sequence_bits),
    since_epoch_ms,
    time_ms: epoch_ms + since_epoch_ms,
  };
}

/**
 * Reads an epoch: an ISO 8601 date or time ("2018-08-01", "2020-01-01T00:00:00Z";
 * a date alone is midnight UTC) or ms since 1970. Throws an Error saying what is wrong.
 */
export function parseEpoch(text: string, now_ms: number): number {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed);
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    // A time without a zone would be read in local time; dslab means UTC.
    const zoned = /T|\s/.test(trimmed) && !/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? `${trimmed}Z` : trimmed;
    ms = Date.parse(zoned.replace(' ', 'T'));
  } else ms = Number.NaN;
  if (!Number.isSafeInteger(ms)) throw new Error(`epoch "${text}" is not a date (like 2018-08-01 or 2018-08-01T00:00:00Z) or ms since 1970`);
  if (ms > now_ms) throw new Error(`epoch ${new Date(ms).toISOString()} is in the future: ids count time from the epoch`);
  return ms;
}
