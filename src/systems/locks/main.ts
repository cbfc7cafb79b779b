// The locks lab's node process: the contender or the resource, as the group it was started in says.
// Wiring only: each group's logic is its own module's.

/**
 * The locks lab's node: one program for both groups a lock lab grades, the
 * contenders (k1..kN) and the resource (r1), acting as the group it was
 * started in (DSLAB_GROUP; init's dslab_groups says the same). The lab's
 * planted-bug variants import it, so a variant stands in for either group.
 */
import { runContender } from './contender.js';
import { runResource } from './resource.js';

const group = process.env.DSLAB_GROUP;
if (group === 'resource') runResource();
else if (group === 'contenders') runContender();
else {
  process.stderr.write(`the locks lab node runs in group contenders or resource, not ${group === undefined ? 'outside a dslab cluster (DSLAB_GROUP is unset)' : group}\n`);
  process.exit(2);
}
