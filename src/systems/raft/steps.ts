// The grader's Raft steps (beyond the shared ones). They act on the cluster only through the grader's
// step context.

import { z } from 'zod';
import { defineStep, poll_interval_ms, step_duration_ms, type StepDefinition } from '../../lib/grade/steps.js';
import { waitUntilHolds } from '../../lib/util/poll.js';

/** The grader's Raft steps: they read the commit_index a Raft node reports. */
export const raft_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'wait_caught_up',
    description: "Every up node's reported commit_index reaches the leader's, and at least min_commit_index.",
    fields: { within_ms: step_duration_ms, min_commit_index: z.number().int().min(0).optional() },
    needs_state_reports: true,
    needs_traffic: true,
    async run(step, ctx) {
      const why = await waitUntilHolds(step.within_ms, poll_interval_ms, () => {
        const up = ctx.status().nodes.filter((n) => n.status === 'up');
        const commits = up.map((n) => Number(n.state.commit_index ?? -1));
        const top = Math.max(...commits);
        if (top >= (step.min_commit_index ?? 0) && commits.every((c) => c === top)) return null;
        return `nodes did not catch up within ${step.within_ms} ms: commit indexes ${up.map((n, i) => `${n.id}=${commits[i]}`).join(', ')}`;
      });
      if (why !== null) ctx.fail(why);
    },
  }),
];
