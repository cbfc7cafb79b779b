import { echo_steps } from './steps.js';
import type { WorkloadPlugin } from '../../lib/plugin.js';

/** Maelstrom's echo: every node answers `echo` with the same payload (the grader's `echo` step sends it). */
export const echo_workload: WorkloadPlugin = {
  name: 'echo',
  description: 'echo requests answered with the same payload',
  requests: ['echo'],
  write_requests: [],
  checks: {},
  steps: echo_steps,
};
