import { z } from 'zod';
import { defineOperation, type WorkloadHost, type WorkloadPlugin } from '../../lib/plugin.js';
import { UserError } from '../../lib/util/errors.js';
import { formatElements } from '../single-send/describe.js';
import { asClient, single_send_args, targetNode, timeoutOf } from '../single-send/runtime.js';
import { describeFailure, single_send_timeout_ms_default } from '../single-send/send.js';
import { broadcastMessage, readMessages, sendTopology } from './client.js';
import { buildTopology, topology_kind_default, topology_kinds, type Topology } from './topology.js';
import { checkSetFile } from '../set/checker.js';

/** The topology the cluster's nodes are given: the kind its --topology option names over the workload's nodes. */
export function clusterTopology(host: Pick<WorkloadHost, 'options' | 'servers'>): Topology {
  const kind = topology_kinds.find((k) => k === host.options.topology) ?? topology_kind_default;
  return buildTopology(kind, host.servers);
}

/**
 * Maelstrom's broadcast: every node is told its neighbours (`topology`) before
 * anything else, then clients broadcast messages to one node each and read
 * what nodes hold; every acknowledged message should reach every node.
 */
export const broadcast_workload: WorkloadPlugin = {
  name: 'broadcast',
  description: 'broadcast messages to every node; read what a node holds (Maelstrom broadcast)',
  requests: ['topology', 'broadcast', 'read'],
  write_requests: ['broadcast'],
  checks: {},
  checkFile: (file) => checkSetFile(file, { noun: 'broadcast' }),
  async afterInit(host, nodes) {
    const topology = clusterTopology(host);
    // As Maelstrom's clients do at setup, every node at once; the first that does not take it fails the start.
    await asClient(host, async (client) => {
      await Promise.all(
        nodes.map(async (node) => {
          const done = await sendTopology(host.transport, client, node, topology, single_send_timeout_ms_default);
          if (done.outcome !== 'ok') throw new UserError(describeFailure(done, 'topology'));
        }),
      );
    });
  },
  runtime(host) {
    return {
      operations: {
        broadcast: defineOperation({
          args: { ...single_send_args, message: z.unknown() },
          run: (args) =>
            asClient(host, async (client) => {
              const done = await broadcastMessage(host.transport, client, targetNode(host, args.node), args.message, timeoutOf(args));
              const description = done.outcome === 'ok' ? `${done.node} acknowledged broadcast ${JSON.stringify(args.message)}` : describeFailure(done, `broadcast ${JSON.stringify(args.message)}`);
              return { description, outcome: done.outcome, node: done.node };
            }),
        }),
        read: defineOperation({
          args: single_send_args,
          run: (args) =>
            asClient(host, async (client) => {
              const done = await readMessages(host.transport, client, targetNode(host, args.node), timeoutOf(args));
              const description = done.outcome === 'ok' ? `${done.node} holds ${done.result!.length} message${done.result!.length === 1 ? '' : 's'}: ${formatElements(done.result!)}` : describeFailure(done, 'read');
              return { description, outcome: done.outcome, node: done.node, ...(done.result ? { messages: done.result } : {}) };
            }),
        }),
        topology: defineOperation({
          args: {},
          run: () => {
            const topology = clusterTopology(host);
            return { description: Object.entries(topology).map(([node, neighbours]) => `${node}: ${neighbours.join(', ') || 'no neighbours'}`).join('\n'), outcome: 'ok', topology };
          },
        }),
      },
      stop() {},
    };
  },
};
