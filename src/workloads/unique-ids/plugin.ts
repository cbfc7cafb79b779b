import { unique_ids_steps } from './steps.js';
import type { WorkloadPlugin } from '../../lib/plugin.js';

/** Maelstrom's unique-ids: `generate` answers with an id no node hands out twice (the grader's `generate` step checks it). */
export const unique_ids_workload: WorkloadPlugin = {
  name: 'unique-ids',
  description: 'generate requests answered with globally unique ids',
  requests: ['generate'],
  write_requests: [],
  checks: {},
  steps: unique_ids_steps,
};
