// What `dslab zk stat` prints: each stat field under the name ZooKeeper's CLI gives it, in its order.

import { describe, expect, it } from 'vitest';
import type { Stat } from '../../src/lib/zk/client.js';
import { formatStat } from '../../src/workloads/zk/format.js';

const stat: Stat = { czxid: '1:3', mzxid: '1:4', pzxid: '1:5', ctime: 0, mtime: 0, version: 2, cversion: 1, aversion: 3, ephemeralOwner: null, dataLength: 5, numChildren: 1 };

describe('formatStat', () => {
  it("prints the ACL version as aclVersion, between dataVersion and ephemeralOwner as zkCli does", () => {
    const lines = formatStat(stat);
    expect(lines.slice(5)).toEqual(['cversion = 1', 'dataVersion = 2', 'aclVersion = 3', 'ephemeralOwner = 0x0', 'dataLength = 5', 'numChildren = 1']);
    expect(lines.slice(0, 5).map((l) => l.split(' = ')[0])).toEqual(['cZxid', 'ctime', 'mZxid', 'mtime', 'pZxid']);
  });
});
