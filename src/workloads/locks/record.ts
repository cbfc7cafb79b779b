/**
 * A stopped locks cluster's verdict: its resource kept what it observed in its
 * data folder (resource.ts's log and settings), so `dslab lock check` can
 * still judge the run once no supervisor is there to ask.
 */
import path from 'node:path';
import { type ClusterInfo, clusterPaths } from '../../lib/cluster/paths.js';
import { UserError } from '../../lib/util/errors.js';
import { recordedReport } from '../../systems/locks/resource.js';
import type { LockReport } from '../../systems/locks/observations.js';

/** What the stopped cluster's resource recorded; a UserError when it is no locks cluster or its folder holds no record. */
export function stoppedClusterReport(info: ClusterInfo): LockReport {
  const resource = info.groups?.find((group) => group.name === 'resource')?.nodes[0];
  if (resource === undefined) throw new UserError(`cluster ${info.name} runs ${info.system}, not locks: start one with dslab up locks`);
  const report = recordedReport(clusterPaths(path.dirname(info.dir), info.name).dataDir(resource));
  if (!report) throw new UserError(`cluster "${info.name}" is not running and its folder holds no record of what ${resource} observed (it never started, or the data was removed)`);
  return report;
}
