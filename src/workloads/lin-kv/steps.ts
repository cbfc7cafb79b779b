import { z } from 'zod';
import { awaitRecordedLoad, defineStep, node_ref, startRecordedLoad, step_duration_ms, type StepDefinition } from '../../lib/grade/steps.js';
import { fixedClientId } from '../../lib/supervisor/client-ids.js';

/** How long a doomed write waits for an answer it is not expected to get. */
const doomed_write_timeout_ms = 1000;
/** How long past its duration a load may take to report done (clients finish their last operations). */
const load_finish_grace_ms = 60_000;

/** The grader's lin-kv steps: single operations, a recorded load, and writes sent to be lost. */
export const lin_kv_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'kv',
    description: 'One kv operation that must succeed (expect ok) or must not (expect not_ok) within timeout_ms; with node, straight to that node without retries.',
    fields: {
      f: z.enum(['read', 'write', 'cas', 'delete']),
      key: z.string(),
      value: z.unknown().optional(),
      from: z.unknown().optional(),
      to: z.unknown().optional(),
      expect: z.enum(['ok', 'not_ok', 'any']),
      equals: z.unknown().optional(),
      timeout_ms: step_duration_ms,
      node: node_ref.optional(),
    },
    needs_traffic: true,
    node_fields: ['node'],
    async run(step, ctx) {
      const describe = `${step.f} ${step.key}`;
      if (step.node) {
        // Straight to one node, no retries: for "a minority leader must not acknowledge".
        const node = ctx.node(step.node);
        const body = { type: step.f, key: step.key, value: step.value, from: step.from, to: step.to, client: `grader-${node}`, seq: Date.now() };
        const reply = await ctx.supervisor.request(fixedClientId('grader_direct_kv'), node, body, step.timeout_ms).catch(() => null);
        const ok = reply !== null && reply.type !== 'error';
        if (step.expect === 'ok' && !ok) ctx.fail(`${describe} on ${node} did not succeed within ${step.timeout_ms} ms`);
        if (step.expect === 'not_ok' && ok) ctx.fail(`${node} acknowledged ${describe} although it cannot reach a majority`);
        return;
      }
      const result = await ctx.act({ type: 'workload', workload: 'lin-kv', op: 'kv', args: { op: { f: step.f, key: step.key, value: step.value, from: step.from, to: step.to }, timeout_ms: step.timeout_ms } });
      const ok = result.outcome === 'ok';
      if (step.expect === 'ok' && !ok) ctx.fail(`${describe} did not succeed: ${String(result.description)}`);
      if (step.expect === 'not_ok' && ok) ctx.fail(`${describe} succeeded but should not have`);
      if (step.equals !== undefined && JSON.stringify(result.result) !== JSON.stringify(step.equals)) {
        ctx.fail(`${describe} returned ${JSON.stringify(result.result)}, expected ${JSON.stringify(step.equals)}`);
      }
    },
  }),
  defineStep({
    name: 'load',
    description: 'A key-value workload whose history the linearizable check judges; with background, later steps run while it does.',
    fields: {
      clients: z.number().int().min(1).max(50),
      rate_per_s: z.number().min(1).max(10_000),
      duration_ms: step_duration_ms,
      keys: z.number().int().min(1).max(1000),
      mix: z.object({ read: z.number(), write: z.number(), cas: z.number() }).optional(),
      background: z.boolean().optional(),
    },
    needs_traffic: true,
    async run(step, ctx) {
      const args = { clients: step.clients, rate_per_s: step.rate_per_s, keys: step.keys, mix: step.mix };
      await startRecordedLoad(ctx, { workload: 'lin-kv', args, duration_ms: step.duration_ms, finish_grace_ms: load_finish_grace_ms, what: 'the workload to finish', background: step.background, wait_step: 'wait_load' });
    },
  }),
  defineStep({
    name: 'wait_load',
    description: 'Wait for the load a background load step started to finish.',
    fields: {},
    needs_traffic: true,
    async run(_step, ctx) {
      await awaitRecordedLoad(ctx, 'lin-kv');
    },
  }),
  defineStep({
    name: 'send_writes',
    description: 'Sends count writes to one node without waiting for answers (entries a minority leader cannot commit).',
    fields: { node: node_ref, count: z.number().int().min(1).max(10_000), key: z.string() },
    node_fields: ['node'],
    async run(step, ctx) {
      // Fire and forget: entries a (soon minority) leader appends but can never commit.
      const node = ctx.node(step.node);
      for (let i = 0; i < step.count; i++) {
        const body = { type: 'write', key: step.key, value: `doomed-${i}`, client: `doomed-${node}`, seq: i + 1 };
        void ctx.supervisor.request(fixedClientId('grader_doomed_writes'), node, body, doomed_write_timeout_ms).catch(() => undefined);
      }
    },
  }),
];
