// The circuit-breaker lab's node process: the service or the dependency, as the group it was started in says.
// Wiring only: each group's logic is its own module's.

/**
 * The breaker lab's node: one program for both groups, the services (s1..sN) and the dependency (d1),
 * acting as the group it was started in (DSLAB_GROUP; init's dslab_groups says the same). The lab's
 * planted-bug variants import it, so a variant stands in for either group.
 */
import { runDependency } from './dependency.js';
import { runService } from './service.js';

const group = process.env.DSLAB_GROUP;
if (group === 'services') runService();
else if (group === 'dependency') runDependency();
else {
  process.stderr.write(`the breaker lab node runs in group services or dependency, not ${group === undefined ? 'outside a dslab cluster (DSLAB_GROUP is unset)' : group}\n`);
  process.exit(2);
}
