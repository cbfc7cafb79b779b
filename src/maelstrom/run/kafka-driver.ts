/**
 * `dslab test -w kafka`: Maelstrom's kafka workload on the runner. Each run
 * gets its own driver (the generator learns from the clients' answers, and
 * the clients keep their positions), with a final phase of its own: after
 * healing, every client (a fresh one) assigns itself every key from the
 * beginning and polls until it has read up to the highest offset known to
 * exist on each, or until kafka_final_polls_s runs out (Jepsen's final polls,
 * clipped as Maelstrom clips them).
 */
import { checkKafkaRecords } from '../../workloads/kafka/checker.js';
import { KafkaClients } from '../../workloads/kafka/client.js';
import { KafkaGenerator, type KafkaOperation } from '../../workloads/kafka/generator.js';
import type { PolledMsgs } from '../../workloads/kafka/history.js';
import type { ClientTransport } from '../../lib/plugin.js';
import type { Rng } from '../../lib/util/prng.js';
import type { FinalPhaseContext } from './final-phase.js';

/** How long the final polls may take in all (Maelstrom's clip on Jepsen's final generator). */
export const kafka_final_polls_s = 10;
/** Mean gap between one client's final polls (Jepsen staggers them at 1/5 s). */
export const kafka_final_poll_gap_ms_mean = 200;

/** A WorkloadDriver (drivers.ts checks the shape; this module cannot import it, as drivers.ts imports this). */
export function kafkaDriver(options: { final_polls_s?: number } = {}) {
  let generator: KafkaGenerator | null = null;
  const clients = new KafkaClients({
    observeSend: (key, offset) => generator?.observeSend(key, offset),
    observePoll: (msgs) => generator?.observePoll(msgs),
  });
  return {
    workload: 'kafka' as const,
    operations: (rng: Rng, settings: { key_count: number | null; concurrency: number; max_writes_per_key?: number }) => {
      generator = new KafkaGenerator(rng, { key_count: settings.key_count, concurrency: settings.concurrency, ...(settings.max_writes_per_key !== undefined ? { max_writes_per_key: settings.max_writes_per_key } : {}) });
      const source = generator;
      return { next: () => source.next() };
    },
    perform: (transport: ClientTransport, client: string, node: string, op: { f: string; value?: unknown }, timeout_ms: number, origin_ms: number, final: boolean) =>
      clients.perform(transport, client, node, op as KafkaOperation, timeout_ms, origin_ms, final),
    final_phase: (ctx: FinalPhaseContext) => finalPolls(ctx, generator ? new Map(generator.max_offsets) : new Map(), options.final_polls_s ?? kafka_final_polls_s),
    check: (_file: string, entries: readonly unknown[], timeout_ms: number) => checkKafkaRecords(entries, timeout_ms),
    headline_functions: ['send', 'poll'],
  };
}

/** Each client polls every key from the start until it has read up to `targets` (key → offset), within the deadline. */
async function finalPolls(ctx: FinalPhaseContext, targets: ReadonlyMap<string, number>, limit_s: number): Promise<void> {
  if (targets.size === 0) return;
  const deadline = Date.now() + limit_s * 1000;
  const keys = [...targets.keys()];
  await Promise.all(
    Array.from({ length: ctx.concurrency }, async (_, index) => {
      const node = ctx.nodes[index % ctx.nodes.length]!;
      const waiting = new Map(targets);
      let client: string | null = null;
      while (waiting.size > 0 && !ctx.stopped() && Date.now() < deadline) {
        if (client === null) {
          // A fresh client for every start (Jepsen crashes the old one first), from the beginning of every key.
          client = ctx.newClient();
          const assigned = await ctx.perform(client, node, { f: 'assign', value: { keys, seek_to_beginning: true } });
          if (assigned.outcome !== 'ok') client = null;
        }
        const polled = client === null ? null : await ctx.perform(client, node, { f: 'poll' });
        if (polled?.outcome === 'unknown') client = null;
        if (polled?.outcome === 'ok' && polled.result) {
          for (const [key, pairs] of Object.entries(polled.result as PolledMsgs)) {
            const target = waiting.get(key);
            if (target !== undefined && pairs.some(([offset]) => offset >= target)) waiting.delete(key);
          }
        }
        if (waiting.size > 0) await ctx.sleep(Math.min(ctx.rng.next() * 2 * kafka_final_poll_gap_ms_mean, Math.max(0, deadline - Date.now())));
      }
    }),
  );
}
