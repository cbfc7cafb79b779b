import { z } from 'zod';
import { defineStep, step_duration_ms, type StepDefinition } from '../../lib/grade/steps.js';
import { zk_load_clients_max, zk_load_paths_max, zk_load_rate_per_s_max, zk_load_rate_per_s_min } from './load.js';

/** How long past its duration a load may take to report done (sessions finish their last calls and close). */
const zk_load_finish_grace_ms = 60_000;

/** The load a `zk_load` step left running, for `zk_wait_load` (one at a time). */
interface ZkLoadState {
  done: Promise<void> | null;
}
const zk_load_key = 'zk.load';

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
      const history = ctx.historyFile();
      const done = ctx.waitFor((e) => e.type === 'load' && e.phase === 'done', step.duration_ms + zk_load_finish_grace_ms, 'the zk load to finish');
      await ctx.act({ type: 'workload', workload: 'zk', op: 'load_start', args: { clients: step.clients, rate_per_s: step.rate_per_s, duration_ms: step.duration_ms, paths: step.paths, history_path: history, seed: ctx.rng.int(2 ** 31) } });
      ctx.memo<ZkLoadState>(zk_load_key, () => ({ done: null })).done = done;
      ctx.background(done);
      if (!step.background) await ctx.run({ do: 'zk_wait_load' });
    },
  }),
  defineStep({
    name: 'zk_wait_load',
    description: 'Wait for the load a background zk_load step started to finish.',
    fields: {},
    needs_traffic: true,
    async run(_step, ctx) {
      const load = ctx.memo<ZkLoadState>(zk_load_key, () => ({ done: null }));
      const done = load.done;
      load.done = null;
      if (done) await done;
    },
  }),
];
