import { max_backward_ms_default } from './core/generator.js';
import { epoch_ms_default } from './core/ids.js';
import { checkLayout, default_layout, type Layout } from './core/layout.js';

/** Where a worker's (datacenter, worker) number comes from. */
export type NumberSource = 'coordinator' | 'static';

/** The session timeout a worker asks the coordinator for when the user does not say: the most a Zab ensemble on its default 100 ms tick grants (20 ticks). */
export const session_timeout_ms_default = 2000;
/** The most ids one `generate` with `count` may ask for: 1,000 ids are about 20 KB of reply, well below a line's 1 MiB. */
export const generate_count_max = 10_000;
/** How often a worker records its latest timestamp in the coordinator. */
export const record_interval_ms = 2000;

export interface SnowflakeOptions {
  layout: Layout;
  epoch_ms: number;
  /** Workers are spread over this many datacenters by position: w1 in 0, w2 in 1, … */
  datacenters: number;
  max_backward_ms: number;
  numbers: NumberSource;
  session_timeout_ms: number;
}

/**
 * Options arrive as JSON in DSLAB_OPTIONS (checked by the plugin's schema in
 * `up`); a node started by hand, or by Maelstrom, gets the defaults for any
 * field that is missing or malformed, so it always starts.
 */
export function readSnowflakeOptions(env: NodeJS.ProcessEnv): SnowflakeOptions {
  let given: Record<string, unknown> = {};
  try {
    given = JSON.parse(env.DSLAB_OPTIONS ?? '{}') as Record<string, unknown>;
  } catch {
    given = {};
  }
  let layout = default_layout;
  if (given.layout && typeof given.layout === 'object') {
    try {
      layout = checkLayout(given.layout as Layout);
    } catch {
      layout = default_layout;
    }
  }
  const whole = (value: unknown, min: number, fallback: number): number => (Number.isSafeInteger(value) && (value as number) >= min ? (value as number) : fallback);
  return {
    layout,
    epoch_ms: whole(given.epoch_ms, 0, epoch_ms_default),
    datacenters: whole(given.datacenters, 1, 1),
    max_backward_ms: whole(given.max_backward_ms, 0, max_backward_ms_default),
    numbers: given.worker_numbers === 'static' ? 'static' : 'coordinator',
    session_timeout_ms: whole(given.session_timeout_ms, 1, session_timeout_ms_default),
  };
}
