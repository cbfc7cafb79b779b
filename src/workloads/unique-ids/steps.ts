import { z } from 'zod';
import { defineStep, step_duration_ms, unexpectedReply, type StepDefinition } from '../../lib/grade/steps.js';
import { generate_clients_max, rangeClientId } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';

/** Every id handed out in one test, across generate steps (and restarts), with the node that gave it. */
const generated_key = 'unique-ids.generated';

export const unique_ids_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'generate',
    description: 'count generate requests spread over the up nodes, concurrency at a time; no id may be handed out twice in the test.',
    fields: { count: z.number().int().min(1).max(100_000), concurrency: z.number().int().min(1).max(generate_clients_max), timeout_ms: step_duration_ms },
    async run(step, ctx) {
      const nodes = ctx.status().nodes.filter((n) => n.status === 'up').map((n) => n.id);
      const seen = ctx.memo(generated_key, () => new Map<string, string>());
      let next = 0;
      const worker = async (client: number) => {
        while (next < step.count) {
          next++;
          const node = ctx.rng.pick(nodes);
          const reply = await ctx.supervisor.request(rangeClientId('generator', client), node, { type: 'generate' }, step.timeout_ms).catch((error: unknown) => ctx.fail(`${node}: ${errorMessage(error)}`));
          if (reply.type !== 'generate_ok') ctx.fail(unexpectedReply(node, 'generate', reply, 'generate_ok'));
          const id = JSON.stringify(reply.id);
          if (reply.id === undefined || reply.id === null) ctx.fail(`${node}'s generate_ok has no id`);
          const other = seen.get(id);
          if (other) ctx.fail(`id ${id} was handed out twice: by ${other} and by ${node}`);
          seen.set(id, node);
        }
      };
      await Promise.all(Array.from({ length: step.concurrency }, (_, i) => worker(i)));
    },
  }),
];
