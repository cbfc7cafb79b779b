// The snowflake worker's process: its number source, time floor and host on real stdio. Wiring only:
// the host and the number source hold the logic.

/**
 * The snowflake worker's node program (`dslab up snowflake` runs it as
 * w1..wN; it also runs alone under Maelstrom's unique-ids workload, where
 * there is no coordinator and numbers are static).
 */
import { performance } from 'node:perf_hooks';
import { Node } from '../../lib/runtime/node.js';
import type { MessageBody } from '../../lib/protocol/messages.js';
import { nodeTransport, ZkClient } from '../../lib/zk/client.js';
import { SnowflakeWorker } from './host.js';
import { CoordinatorNumbers, StaticNumbers, type CoordinatorSession, type WorkerNumbers } from './numbers.js';
import { readSnowflakeOptions } from './options.js';
import { TimeFloor } from './storage.js';

/** The node group the coordinator's servers are in, in a `dslab up snowflake` cluster. */
export const coordinator_group = 'coordinator';

const options = readSnowflakeOptions(process.env);
const node = new Node();
const mono = (): number => performance.now();
let worker: SnowflakeWorker | null = null;

async function connectCoordinator(servers: readonly string[]): Promise<CoordinatorSession> {
  // The session's age is measured on a clock skew cannot move: a worker whose clock is set back must still stop in time.
  const transport = { ...nodeTransport(node), now: mono };
  return ZkClient.connect(transport, servers, { timeout_ms: options.session_timeout_ms });
}

// A node with a data directory (every dslab node) keeps its own time record; under Maelstrom there is none.
let floor: TimeFloor | null = null;
const data_dir = process.env.DSLAB_DATA_DIR;
if (data_dir) {
  try {
    floor = TimeFloor.open(data_dir);
  } catch (error) {
    process.stderr.write(`snowflake worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

node.onInit(() => {
  const position = Math.max(0, node.nodeIds.indexOf(node.id));
  const servers = node.groups[coordinator_group] ?? [];
  const datacenter = position % options.datacenters;
  let numbers: WorkerNumbers;
  if (options.numbers === 'static' || servers.length === 0) numbers = new StaticNumbers(position, options.datacenters, options.layout.worker_bits);
  else {
    numbers = new CoordinatorNumbers(
      { connect: () => connectCoordinator(servers), mono, after: (ms, run) => node.after(ms, run), log: (text) => node.log(text) },
      { node_id: node.id, datacenter, worker_bits: options.layout.worker_bits, ...(options.planted_bug === 'worker_unchecked' || options.planted_bug === 'serve_past_lease' ? { test_planted_bug: options.planted_bug } : {}) },
    );
  }
  worker = new SnowflakeWorker(
    {
      get id() {
        return node.id;
      },
      now: () => node.now(),
      mono,
      clockOffset: () => node.now() - Date.now(),
      reply: (request, body) => node.reply(request, body as MessageBody),
      replyError: (request, code, text) => node.replyError(request, code, text),
      after: (ms, run) => node.after(ms, run),
      every: (ms, run) => node.every(ms, run),
      reportState: (fields) => node.reportState(fields),
      log: (...parts) => node.log(...parts),
    },
    options,
    numbers,
    floor,
  );
  worker.start();
});

node.on('generate', (message) => {
  if (!worker) {
    node.replyError(message, 11, 'not initialised yet');
    return;
  }
  worker.generate(message);
});
node.run();
