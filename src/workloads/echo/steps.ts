import { z } from 'zod';
import { defineStep, step_duration_ms, unexpectedReply, type StepDefinition } from '../../lib/grade/steps.js';
import { fixedClientId } from '../../lib/supervisor/client-ids.js';
import { errorMessage } from '../../lib/util/errors.js';

export const echo_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'echo',
    description: 'Every node, in turn, answers count echo requests with the same payload.',
    fields: { count: z.number().int().min(1).max(10_000), timeout_ms: step_duration_ms },
    async run(step, ctx) {
      const nodes = ctx.status().nodes.map((n) => n.id);
      for (let i = 0; i < step.count; i++) {
        const node = nodes[i % nodes.length]!;
        const payload = `echo ${i} ${ctx.rng.int(1e9)}`;
        const reply = await ctx.supervisor.request(fixedClientId('grader_echo'), node, { type: 'echo', echo: payload }, step.timeout_ms).catch((error: unknown) => ctx.fail(`${node}: ${errorMessage(error)}`));
        if (reply.type !== 'echo_ok') ctx.fail(unexpectedReply(node, 'echo', reply, 'echo_ok'));
        if (reply.echo !== payload) ctx.fail(`${node} echoed ${JSON.stringify(reply.echo)} for ${JSON.stringify(payload)}`);
      }
    },
  }),
];
