// The grader's snowflake steps (beyond the shared ones). They act on the cluster only through the
// grader's step context and the ids workload's client.

import { z } from 'zod';
import { defineStep, poll_interval_ms, step_duration_ms, type StepDefinition } from '../../lib/grade/steps.js';
import { waitUntilHolds } from '../../lib/util/poll.js';
import { idWorkers } from '../../workloads/ids/client.js';

/** How long a wrong picture in the workers' reports may last before wait_workers fails: a few report intervals (the reference reports every 500 ms). */
export const stale_report_ms = 1500;

/** The steps only snowflake workers can pass: they read the workers' state reports (role, datacenter, worker). */
export const snowflake_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'wait_workers',
    description:
      'Wait until exactly `serving` workers report role "serving", each with its own (datacenter, worker) number, and every other up worker reports role "refusing" with no number (more workers than the layout has numbers). save_serving_as saves one of the serving workers, chosen at random.',
    fields: { serving: z.number().int().min(0).max(25), within_ms: step_duration_ms, save_serving_as: z.string().min(1).optional() },
    needs_state_reports: true,
    async run(step, ctx) {
      // A paused worker's last report stays "serving" until it wakes and reports again: only a clash that outlasts a few reports fails.
      let wrong_since: number | null = null;
      const why = await waitUntilHolds(step.within_ms, poll_interval_ms, () => {
        const workers = idWorkers(ctx.status()).filter((n) => n.status === 'up');
        const serving = workers.filter((n) => n.state.role === 'serving');
        const numbers = new Map<string, string>();
        let wrong: string | null = null;
        for (const node of serving) {
          const key = `datacenter ${String(node.state.datacenter)} worker ${String(node.state.worker)}`;
          const other = numbers.get(key);
          if (other) wrong = `${other} and ${node.id} both serve as ${key}`;
          numbers.set(key, node.id);
        }
        if (serving.length > step.serving) wrong = `${serving.length} workers serve (${serving.map((n) => `${n.id} as worker ${String(n.state.worker)}`).join(', ')}), but the layout has numbers for only ${step.serving}`;
        const idle = workers.filter((n) => n.state.role !== 'serving');
        if (!wrong && serving.length === step.serving && idle.every((n) => n.state.role === 'refusing' && (n.state.worker === null || n.state.worker === undefined))) {
          if (step.save_serving_as) {
            if (serving.length === 0) ctx.fail('no worker serves, so none can be saved');
            ctx.save(step.save_serving_as, ctx.rng.pick(serving.map((n) => n.id)));
          }
          return null;
        }
        wrong_since = wrong ? (wrong_since ?? Date.now()) : null;
        if (wrong && Date.now() - wrong_since! > stale_report_ms) ctx.fail(wrong);
        const roles = workers.map((n) => `${n.id} ${n.state.role === undefined ? 'reports no role' : String(n.state.role)}${n.state.worker === null || n.state.worker === undefined ? '' : ` (worker ${String(n.state.worker)})`}`).join(', ');
        return wrong ?? `${serving.length} of ${workers.length} workers serve after ${step.within_ms} ms, expected ${step.serving}: ${roles || 'no worker is up'}`;
      });
      if (why !== null) ctx.fail(why);
    },
  }),
];
