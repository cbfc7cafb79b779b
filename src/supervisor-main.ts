/** Entry point of a detached supervisor: the library's supervisor with the registry's workloads. */
import { runDetachedSupervisor } from './lib/supervisor/main.js';
import { workloads } from './registry.js';

await runDetachedSupervisor({ workloads });
