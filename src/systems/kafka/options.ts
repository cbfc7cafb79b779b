// What the kafka reference node reads from its environment: only DSLAB_KAFKA_PLANTED_BUG, the lab
// variants' hook. Touches nothing but the environment it is handed.

/**
 * The mistakes a lab variant can plant in the reference node (log-node.ts):
 * - blind-append: a send writes the log it knows plus its msgs, without cas, so two nodes hand out one offset twice;
 * - commits-in-memory: committed offsets kept in the node's memory: another node, or this one restarted, never sees them;
 * - poll-skips: a poll answers from one past the offset asked;
 * - poll-reorders: a poll answers each key's msgs newest first.
 */
export const kafka_planted_bugs = ['blind-append', 'commits-in-memory', 'poll-skips', 'poll-reorders'] as const;
export type KafkaPlantedBug = (typeof kafka_planted_bugs)[number];

/** The planted bug DSLAB_KAFKA_PLANTED_BUG names (a test hook, never a user option); throws on one it does not know. */
export function readPlantedBug(env: NodeJS.ProcessEnv): KafkaPlantedBug | null {
  const name = env.DSLAB_KAFKA_PLANTED_BUG?.trim() ?? '';
  if (name === '') return null;
  if ((kafka_planted_bugs as readonly string[]).includes(name)) return name as KafkaPlantedBug;
  throw new Error(`DSLAB_KAFKA_PLANTED_BUG=${name} names no planted bug (${kafka_planted_bugs.join(', ')})`);
}
