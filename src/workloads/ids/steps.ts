import { z } from 'zod';
import { defineStep, node_ref, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import { clock_offset_ms_max } from '../../lib/control/api.js';
import { rangeClientId } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';
import { generate_count_max, readSnowflakeOptions } from '../../systems/snowflake/options.js';
import { id_load_clients_max, id_load_rate_per_s_max, id_load_rate_per_s_min, load_ops_max, runIdLoad, type IdLoadCluster } from './client.js';

/** The test's cluster as an id load sees it: the supervisor in this process. */
function supervisorCluster(ctx: StepContext): IdLoadCluster {
  return {
    status: () => Promise.resolve(ctx.status()),
    send: (node, body, timeout_ms) => ctx.supervisor.request(rangeClientId('generator', 0), node, body, timeout_ms),
    follow: (onEvent) => ({ ready: Promise.resolve(), stop: ctx.supervisor.events.subscribe(onEvent) }),
  };
}

export const ids_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'id_load',
    description:
      'generate requests (with count: that many ids each) at rate_per_s from `clients` clients to random workers for duration_ms, recording a history the ids check judges; with background, later steps run meanwhile. At most max_failed requests may fail or go unanswered, and at least min_ids ids must come back.',
    fields: {
      clients: z.number().int().min(1).max(id_load_clients_max),
      rate_per_s: z.number().min(id_load_rate_per_s_min).max(id_load_rate_per_s_max),
      duration_ms: step_duration_ms,
      count: z.number().int().min(1).max(generate_count_max).optional(),
      timeout_ms: step_duration_ms,
      background: z.boolean().optional(),
      max_failed: z.number().int().min(0).optional(),
      min_ids: z.number().int().min(0).optional(),
    },
    async run(step, ctx) {
      if ((step.rate_per_s * step.duration_ms) / 1000 > load_ops_max) ctx.fail(`id_load would make more than ${load_ops_max} requests`);
      const history_path = ctx.historyFile();
      const load = async () => {
        const summary = await runIdLoad(supervisorCluster(ctx), {
          clients: step.clients,
          rate_per_s: step.rate_per_s,
          duration_ms: step.duration_ms,
          ...(step.count !== undefined ? { count: step.count } : {}),
          history_path,
          timeout_ms: step.timeout_ms,
          random: () => ctx.rng.next(),
          // The ids are judged by the layout the test set, not by what the workers under test say it is.
          settings: (({ layout, epoch_ms }) => ({ layout, epoch_ms }))(readSnowflakeOptions({ DSLAB_OPTIONS: JSON.stringify(ctx.supervisor.config.options ?? {}) })),
        }).catch((error: unknown) => ctx.fail(`the id load stopped: ${errorMessage(error)}`));
        const { ok, fail, unknown } = summary.check.ops;
        if (step.max_failed !== undefined && fail + unknown > step.max_failed) ctx.fail(`${fail} generate requests were refused and ${unknown} went unanswered out of ${ok + fail + unknown}, more than the ${step.max_failed} allowed`);
        const min_ids = step.min_ids ?? 1;
        if (summary.ids < min_ids) ctx.fail(`the workers handed out ${summary.ids} ids in ${ok + fail + unknown} requests, fewer than ${min_ids}`);
      };
      if (step.background) ctx.background(load());
      else await load();
    },
  }),
  defineStep({
    name: 'skew_clock',
    description: "Set a node's clock offset_ms away from real time (negative: back), as `dslab skew` does.",
    fields: { node: node_ref, offset_ms: z.number().int().min(-clock_offset_ms_max).max(clock_offset_ms_max) },
    node_fields: ['node'],
    async run(step, ctx) {
      await ctx.act({ type: 'skew', node: ctx.node(step.node), offset_ms: step.offset_ms });
    },
  }),
];
