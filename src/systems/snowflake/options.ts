// What a snowflake worker reads from DSLAB_OPTIONS (and its planted bug), with the defaults. Parsing
// only: it reads the environment it is handed and touches nothing else.

import { generator_planted_bugs, max_backward_ms_default, type GeneratorPlantedBug } from './core/generator.js';
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

/**
 * The environment variable a lab variant sets to plant a bug in the reference
 * worker (labs/snowflake/variants; a test hook, not a user option).
 */
export const planted_bug_env = 'DSLAB_SNOWFLAKE_PLANTED_BUG';
/**
 * The generator's bugs (generator_planted_bugs) and the worker's own:
 * serve_past_lease (a worker trusts its number until it takes another, so a
 * paused one goes on issuing after its session expired and the number was
 * given away), number_ids (ids pass through a JavaScript number, which holds
 * 53 bits exactly, on their way out).
 */
export const planted_bugs = [...generator_planted_bugs, 'serve_past_lease', 'number_ids'] as const;
export type PlantedBug = (typeof planted_bugs)[number];

export interface SnowflakeOptions {
  layout: Layout;
  epoch_ms: number;
  /** Workers are spread over this many datacenters by position: w1 in 0, w2 in 1, … */
  datacenters: number;
  max_backward_ms: number;
  numbers: NumberSource;
  session_timeout_ms: number;
  planted_bug?: PlantedBug;
}

/** The generator's part of a planted bug. */
export function generatorBug(bug: PlantedBug | undefined): GeneratorPlantedBug | undefined {
  return (generator_planted_bugs as readonly string[]).includes(bug ?? '') ? (bug as GeneratorPlantedBug) : undefined;
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
    ...((planted_bugs as readonly string[]).includes(env[planted_bug_env] ?? '') ? { planted_bug: env[planted_bug_env] as PlantedBug } : {}),
  };
}
