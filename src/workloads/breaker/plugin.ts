import type { WorkloadPlugin } from '../../lib/plugin.js';
import { checkBreakerCluster } from './verdict.js';
import { breakerRuntime } from './runtime.js';

/**
 * The breaker workload: clients `call` the services, which call the dependency through their
 * breakers. Its load (runtime.ts) is open-loop; its verdict (record.ts) is the breaker checker's on
 * what the router traced.
 */
export const breaker_workload: WorkloadPlugin = {
  name: 'breaker',
  description: 'clients call services that call a dependency through circuit breakers, bulkheads and retries',
  requests: ['call'],
  write_requests: [],
  checks: {},
  runtime: breakerRuntime,
  // At `down`: the breaker check of everything the router traced, as `dslab breaker check` says it.
  async closingCheck(_host, status) {
    // A cluster of another system run under the breaker label (--bin alone) has no services to judge.
    if (status.system !== 'breaker') return null;
    return checkBreakerCluster(status.dir);
  },
};
