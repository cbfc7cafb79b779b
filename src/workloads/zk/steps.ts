import { z } from 'zod';
import { awaitRecordedLoad, defineStep, startRecordedLoad, step_duration_ms, type StepDefinition } from '../../lib/grade/steps.js';
import { zk_load_clients_max, zk_load_paths_max, zk_load_rate_per_s_max, zk_load_rate_per_s_min } from './load.js';

/** How long past its duration a load may take to report done (sessions finish their last calls and close). */
const zk_load_finish_grace_ms = 60_000;

/** The grader's zk workload steps: a recorded znode load, whose history the zk_linearizable check judges. */
export const zk_workload_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'zk_load',
    description:
      "A znode workload as `dslab zk load` runs it (clients sessions of their own, creates, set_data and deletes, some conditional, and reads on `paths` fresh znodes), recorded for the zk_linearizable check; with background, later steps run while it does.",
    fields: {
      clients: z.number().int().min(1).max(zk_load_clients_max),
      rate_per_s: z.number().min(zk_load_rate_per_s_min).max(zk_load_rate_per_s_max),
      duration_ms: step_duration_ms,
      paths: z.number().int().min(1).max(zk_load_paths_max),
      background: z.boolean().optional(),
    },
    needs_traffic: true,
    async run(step, ctx) {
      const args = { clients: step.clients, rate_per_s: step.rate_per_s, paths: step.paths };
      await startRecordedLoad(ctx, { workload: 'zk', args, duration_ms: step.duration_ms, finish_grace_ms: zk_load_finish_grace_ms, what: 'the zk load to finish', background: step.background, wait_step: 'zk_wait_load' });
    },
  }),
  defineStep({
    name: 'zk_wait_load',
    description: 'Wait for the load a background zk_load step started to finish.',
    fields: {},
    needs_traffic: true,
    async run(_step, ctx) {
      await awaitRecordedLoad(ctx, 'zk');
    },
  }),
];
