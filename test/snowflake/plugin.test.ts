import { describe, expect, it } from 'vitest';
import { checkOptions } from '../../src/lib/plugin.js';
import { optionsFromFlags, requireSystem } from '../../src/registry.js';
import { sonyflake_layout } from '../../src/systems/snowflake/core/layout.js';
import { readSnowflakeOptions } from '../../src/systems/snowflake/options.js';
import { snowflake } from '../../src/systems/snowflake/plugin.js';

describe("snowflake's plugin", () => {
  it('runs the zab program as the coordinator beside the workers, each group counted by its own flag', () => {
    expect(requireSystem('snowflake')).toBe(snowflake);
    expect(snowflake.groups.map((g) => [g.name, g.prefix, g.count_flag])).toEqual([
      ['coordinator', 'z', 'coordinator'],
      ['workers', 'w', 'workers'],
    ]);
    expect(snowflake.groups[0]!.program!.pathname).toMatch(/systems\/zab\/main\.js$/);
  });

  it("turns up's flags into options the workers read back", () => {
    const options = optionsFromFlags({ layout: 'sonyflake', epoch: '2020-01-01', 'max-backward': '20ms', 'worker-numbers': 'static', 'session-timeout': '1500ms' });
    expect(options).toEqual({ layout: sonyflake_layout, epoch_ms: Date.UTC(2020, 0, 1), max_backward_ms: 20, worker_numbers: 'static', session_timeout_ms: 1500 });
    expect(readSnowflakeOptions({ DSLAB_OPTIONS: JSON.stringify(options) })).toEqual({ layout: sonyflake_layout, epoch_ms: Date.UTC(2020, 0, 1), datacenters: 1, max_backward_ms: 20, numbers: 'static', session_timeout_ms: 1500 });
  });

  it('refuses bad flags and options in one line naming the flag', () => {
    expect(() => optionsFromFlags({ layout: '41,5,5,13' })).toThrow('--layout: layout 41,5,5,13: the fields take 64 bits; they must take 63 (64 less the sign bit)');
    expect(() => optionsFromFlags({ epoch: 'soon' })).toThrow(/^--epoch: epoch "soon" is not a date/);
    expect(() => optionsFromFlags({ 'max-backward': '20s' })).toThrow(/--max-backward must be/);
    expect(() => optionsFromFlags({ datacenters: 64 })).toThrow('--datacenters 64 does not fit layout 41,5,5,12: 5 datacenter bits hold 32');
    expect(() => optionsFromFlags({ layout: 'sonyflake', datacenters: 2 })).toThrow(/0 datacenter bits hold 1/);
    expect(() => checkOptions(snowflake, { worker_numbers: 'dns' }, 'lab spec')).toThrow('lab spec: worker_numbers must be one of coordinator, static');
  });

  it('falls back to the defaults for options a node started by hand does not get', () => {
    expect(readSnowflakeOptions({ DSLAB_OPTIONS: '{"layout":{"time_bits":1},"datacenters":"x"}' })).toMatchObject({ layout: { time_bits: 41 }, datacenters: 1, numbers: 'coordinator' });
    expect(readSnowflakeOptions({})).toMatchObject({ max_backward_ms: 5, session_timeout_ms: 2000 });
  });
});
