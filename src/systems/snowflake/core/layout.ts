// An id's layout (how its 64 bits are cut up): the known ones, their checks and text form. Pure: no I/O.

/**
 * How a 64-bit snowflake id is cut up. From the top: one zero sign bit (so the
 * id is a positive signed 64-bit integer everywhere), time units since the
 * epoch, the datacenter, the worker, and a sequence within one time unit.
 * Twitter's layout is 41,5,5,12 in milliseconds; Sonyflake's is 39 bits of
 * 10 ms units, no datacenter, 16 bits of machine and 8 of sequence, trading
 * throughput per worker (25,600 ids/s) for a lifetime of 174 years and 65,536
 * workers.
 */
export interface Layout {
  time_bits: number;
  datacenter_bits: number;
  worker_bits: number;
  sequence_bits: number;
  /** How many milliseconds one time unit is. */
  unit_ms: number;
}

/** Bits below the sign bit: every layout's fields add up to this. */
export const id_bits = 63;
/** A time unit longer than this would make "wait for the next unit" a wait a client notices as an outage. */
export const unit_ms_max = 1000;

export const twitter_layout: Layout = { time_bits: 41, datacenter_bits: 5, worker_bits: 5, sequence_bits: 12, unit_ms: 1 };
export const sonyflake_layout: Layout = { time_bits: 39, datacenter_bits: 0, worker_bits: 16, sequence_bits: 8, unit_ms: 10 };
export const default_layout = twitter_layout;

/** Named layouts `--layout` takes besides the numbers. */
export const layout_presets: Readonly<Record<string, Layout>> = { twitter: twitter_layout, sonyflake: sonyflake_layout };

/** The fields, as one line for messages: "41,5,5,12" or "39,0,16,8,10ms". */
export function formatLayout(layout: Layout): string {
  const bits = `${layout.time_bits},${layout.datacenter_bits},${layout.worker_bits},${layout.sequence_bits}`;
  return layout.unit_ms === 1 ? bits : `${bits},${layout.unit_ms}ms`;
}

/**
 * Reads a layout: a preset name, or TIME,DATACENTER,WORKER,SEQUENCE bit
 * counts with an optional fifth field, the time unit ("39,0,16,8,10ms"; ms by
 * default). Throws an Error saying what is wrong.
 */
export function parseLayout(text: string): Layout {
  const preset = layout_presets[text.trim().toLowerCase()];
  if (preset) return preset;
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length !== 4 && parts.length !== 5) throw new Error(`layout "${text}" must be ${Object.keys(layout_presets).join(' or ')}, or four bit counts TIME,DATACENTER,WORKER,SEQUENCE (and optionally a time unit, like 10ms)`);
  const bits = parts.slice(0, 4).map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
  if (bits.some((b) => !Number.isSafeInteger(b))) throw new Error(`layout "${text}": bit counts must be whole numbers`);
  let unit_ms = 1;
  if (parts.length === 5) {
    const unit = /^(\d+)(ms)?$/.exec(parts[4]!);
    if (!unit) throw new Error(`layout "${text}": the time unit must be whole milliseconds, like 10ms`);
    unit_ms = Number(unit[1]);
  }
  const [time_bits, datacenter_bits, worker_bits, sequence_bits] = bits as [number, number, number, number];
  return checkLayout({ time_bits, datacenter_bits, worker_bits, sequence_bits, unit_ms });
}

/** Throws an Error naming what makes a layout unusable; returns it otherwise. */
export function checkLayout(layout: Layout): Layout {
  const { time_bits, datacenter_bits, worker_bits, sequence_bits, unit_ms } = layout;
  const sum = time_bits + datacenter_bits + worker_bits + sequence_bits;
  if (sum !== id_bits) throw new Error(`layout ${formatLayout(layout)}: the fields take ${sum} bits; they must take ${id_bits} (64 less the sign bit)`);
  // Fewer time bits than this would run out within a day of milliseconds: not an id generator anyone can use.
  if (time_bits < 30) throw new Error(`layout ${formatLayout(layout)}: at least 30 bits of time are needed`);
  if (sequence_bits < 1) throw new Error(`layout ${formatLayout(layout)}: at least 1 bit of sequence is needed`);
  if (worker_bits < 1) throw new Error(`layout ${formatLayout(layout)}: at least 1 bit of worker is needed`);
  if (!Number.isSafeInteger(unit_ms) || unit_ms < 1 || unit_ms > unit_ms_max) throw new Error(`layout ${formatLayout(layout)}: the time unit must be 1 to ${unit_ms_max} ms`);
  return layout;
}

/** How many datacenters, workers per datacenter and ids per time unit a layout holds. */
export function layoutCapacity(layout: Layout): { datacenters: number; workers: number; ids_per_unit: number; lifetime_ms: number } {
  return {
    datacenters: 2 ** layout.datacenter_bits,
    workers: 2 ** layout.worker_bits,
    ids_per_unit: 2 ** layout.sequence_bits,
    lifetime_ms: 2 ** layout.time_bits * layout.unit_ms,
  };
}
