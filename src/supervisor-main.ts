/** Entry point of a detached supervisor: the library's supervisor with the registry's workloads and ZooKeeper wire protocol. */
import { runDetachedSupervisor } from './lib/supervisor/main.js';
import { workloads, zkWire } from './registry.js';

await runDetachedSupervisor({ workloads, zk_wire: await zkWire() });
