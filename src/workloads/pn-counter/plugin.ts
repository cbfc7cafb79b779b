import { z } from 'zod';
import { defineOperation, type WorkloadPlugin } from '../../lib/plugin.js';
import { asClient, single_send_args, targetNode, timeoutOf } from '../single-send/runtime.js';
import { describeFailure } from '../single-send/send.js';
import { addDelta, readCounter } from './client.js';
import { checkCounterFile } from '../counter/checker.js';

/** A counter workload: pn-counter takes any integer delta, g-counter (delta_min 0) only those that do not shrink it. */
export function counterWorkload(name: string, description: string, delta_min: number | null): WorkloadPlugin {
  const delta = z.number().int().safe();
  return {
    name,
    description,
    requests: ['add', 'read'],
    write_requests: ['add'],
    checks: {},
    checkFile: (file) => checkCounterFile(file),
    runtime(host) {
      return {
        operations: {
          add: defineOperation({
            args: { ...single_send_args, delta: delta_min === null ? delta : delta.min(delta_min, `a ${name} only grows: the delta must be at least ${delta_min}`) },
            run: (args) =>
              asClient(host, async (client) => {
                const done = await addDelta(host.transport, client, targetNode(host, args.node), args.delta, timeoutOf(args));
                const description = done.outcome === 'ok' ? `${done.node} added ${args.delta}` : describeFailure(done, `add ${args.delta}`);
                return { description, outcome: done.outcome, node: done.node };
              }),
          }),
          read: defineOperation({
            args: single_send_args,
            run: (args) =>
              asClient(host, async (client) => {
                const done = await readCounter(host.transport, client, targetNode(host, args.node), timeoutOf(args));
                const description = done.outcome === 'ok' ? `${done.node} reads ${done.result}` : describeFailure(done, 'read');
                return { description, outcome: done.outcome, node: done.node, ...(done.result !== undefined ? { value: done.result } : {}) };
              }),
          }),
        },
        stop() {},
      };
    },
  };
}

/** Maelstrom's pn-counter: add any integer delta, read the sum. */
export const pn_counter_workload = counterWorkload('pn-counter', 'counter of integer deltas, up or down: add, read (Maelstrom pn-counter)', null);
