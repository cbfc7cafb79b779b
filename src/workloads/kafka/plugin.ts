import type { WorkloadPlugin } from '../../lib/plugin.js';
import { checkKafkaFile } from './checker.js';

/** Maelstrom's kafka: append-only logs by key, polled from offsets, with committed offsets. `dslab test -w kafka` runs it; `dslab check` judges its histories. */
export const kafka_workload: WorkloadPlugin = {
  name: 'kafka',
  description: 'Kafka-style logs: send messages to keys, poll them from offsets, commit offsets (Maelstrom kafka)',
  requests: ['send', 'poll', 'commit_offsets', 'list_committed_offsets'],
  write_requests: ['send', 'commit_offsets'],
  checks: {},
  checkFile: (file, timeout_ms) => checkKafkaFile(file, timeout_ms),
};
