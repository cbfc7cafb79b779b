import { z } from 'zod';
import { defineOperation, type WorkloadPlugin } from '../../lib/plugin.js';
import { formatElements } from '../single-send/describe.js';
import { asClient, single_send_args, targetNode, timeoutOf } from '../single-send/runtime.js';
import { describeFailure } from '../single-send/send.js';
import { addElement, readSet } from './client.js';
import { checkSetFile } from '../set/checker.js';

/** Maelstrom's g-set: a grow-only set; clients add elements to one node each and read the set from any. */
export const g_set_workload: WorkloadPlugin = {
  name: 'g-set',
  description: 'grow-only set: add elements, read the set (Maelstrom g-set)',
  requests: ['add', 'read'],
  write_requests: ['add'],
  checks: {},
  checkFile: (file) => checkSetFile(file),
  runtime(host) {
    return {
      operations: {
        add: defineOperation({
          args: { ...single_send_args, element: z.unknown() },
          run: (args) =>
            asClient(host, async (client) => {
              const done = await addElement(host.transport, client, targetNode(host, args.node), args.element, timeoutOf(args));
              const description = done.outcome === 'ok' ? `${done.node} added ${JSON.stringify(args.element)}` : describeFailure(done, `add ${JSON.stringify(args.element)}`);
              return { description, outcome: done.outcome, node: done.node };
            }),
        }),
        read: defineOperation({
          args: single_send_args,
          run: (args) =>
            asClient(host, async (client) => {
              const done = await readSet(host.transport, client, targetNode(host, args.node), timeoutOf(args));
              const description = done.outcome === 'ok' ? `${done.node} holds ${done.result!.length} element${done.result!.length === 1 ? '' : 's'}: ${formatElements(done.result!)}` : describeFailure(done, 'read');
              return { description, outcome: done.outcome, node: done.node, ...(done.result ? { value: done.result } : {}) };
            }),
        }),
      },
      stop() {},
    };
  },
};
