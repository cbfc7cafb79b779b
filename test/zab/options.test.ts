// The zab server's planted-bug hook: DSLAB_ZAB_PLANTED_BUG names one bug of the core or of the server.

import { describe, expect, it } from 'vitest';
import { readPlantedBug, readZabOptions } from '../../src/systems/zab/options.js';

describe('DSLAB_ZAB_PLANTED_BUG', () => {
  it('sends core bugs to the core and server bugs to the server; none by default', () => {
    expect(readPlantedBug({})).toEqual({ core: null, host: null });
    expect(readPlantedBug({ DSLAB_ZAB_PLANTED_BUG: 'one_epoch' })).toEqual({ core: 'one_epoch', host: null });
    expect(readPlantedBug({ DSLAB_ZAB_PLANTED_BUG: 'propose_only_acked' })).toEqual({ core: 'propose_only_acked', host: null });
    expect(readPlantedBug({ DSLAB_ZAB_PLANTED_BUG: 'watch_after_reply' })).toEqual({ core: null, host: 'watch_after_reply' });
    expect(readPlantedBug({ DSLAB_ZAB_PLANTED_BUG: 'sequential_from_children' })).toEqual({ core: null, host: 'sequential_from_children' });
  });

  it('refuses a name it does not know, listing the ones it does', () => {
    expect(() => readPlantedBug({ DSLAB_ZAB_PLANTED_BUG: 'one-epoch' })).toThrow(/one-epoch names no planted bug \(core: id_before_zxid, .*; server: close_lost_keeps_ephemerals/);
  });

  it('reads the tick the server negotiates session timeouts with', () => {
    expect(readZabOptions({ DSLAB_OPTIONS: JSON.stringify({ tick_ms: 1000 }) }).tick_ms).toBe(1000);
    expect(readZabOptions({}).tick_ms).toBe(100);
  });
});
