/**
 * The grader's `maelstrom_run` step: a lab test runs a Maelstrom workload on
 * its cluster exactly as `dslab test` would (run.ts), and fails with the
 * verdict's words when the run is not valid or goes over the lab's budgets
 * (messages per operation, stable latencies).
 */
import path from 'node:path';
import { z } from 'zod';
import { defineStep, type StepContext } from '../../lib/grade/steps.js';
import type { ClientTransport } from '../../lib/plugin.js';
import { kafka_reported_kinds } from '../../workloads/kafka/checker.js';
import {
  consistency_model_names,
  consistency_models_max,
  key_count_max,
  latency_dists,
  latency_ms_max,
  maelstrom_workloads,
  nemesis_interval_s_max,
  nemesis_interval_s_min,
  parseConcurrency,
  rate_per_s_max,
  test_faults,
  txn_length_max,
  writes_per_key_max,
} from '../options.js';
import { driverFor } from './drivers.js';
import { MaelstromRun, type RunSettings } from './run.js';
import { judgeRun } from './verdict.js';

/** A lab run's time limit, in seconds: a test's own time limit (at most 10 minutes) bounds it further. */
export const lab_run_time_limit_s_max = 300;

/** The workloads the runner has a driver for. */
const runnable = maelstrom_workloads.filter((w) => driverFor(w) !== null) as [string, ...string[]];

function transportOf(ctx: StepContext): ClientTransport {
  return {
    request: (client, dest, body, timeout_ms) => ctx.supervisor.request(client, dest, body, timeout_ms),
    leader: () => ctx.supervisor.leader(),
    upNodes: () => ctx.status().nodes.filter((n) => n.status === 'up').map((n) => n.id),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** The step's fields: dslab test's flags under their settings' names, with the same limits, plus a lab's budgets. */
const maelstrom_run_fields = {
  workload: z.enum(runnable).optional(),
  time_limit_s: z.number().positive().max(lab_run_time_limit_s_max),
  rate: z.number().min(0).max(rate_per_s_max).default(5),
  concurrency: z.union([z.string(), z.number().int().min(1)]).default('1n'),
  latency_ms: z.number().int().min(0).max(latency_ms_max).default(0),
  latency_dist: z.enum(latency_dists).default('constant'),
  nemesis: z.array(z.enum(test_faults)).default([]),
  nemesis_interval_s: z.number().min(nemesis_interval_s_min).max(nemesis_interval_s_max).default(10),
  availability: z.union([z.number().min(0).max(1), z.literal('total')]).optional(),
  key_count: z.number().int().min(1).max(key_count_max).optional(),
  /** The transactional workloads' --max-txn-length, --max-writes-per-key and --consistency-models. */
  max_txn_length: z.number().int().min(1).max(txn_length_max).optional(),
  max_writes_per_key: z.number().int().min(1).max(writes_per_key_max).optional(),
  consistency_models: z.array(z.enum(consistency_model_names)).min(1).max(consistency_models_max).optional(),
  msgs_per_op_max: z.number().positive().optional(),
  stable_latency_ms_median_max: z.number().positive().optional(),
  stable_latency_ms_max_max: z.number().positive().optional(),
  /** The wait between healing and the final reads (Maelstrom's 10 s). */
  recovery_wait_s: z.number().min(0).max(60).optional(),
  /** Anomalies the workload reports without judging that this test judges (kafka: committed-lost, committed-ahead). */
  judge_reported: z.array(z.enum(kafka_reported_kinds)).default([]),
};

export type MaelstromRunStep = z.infer<z.ZodObject<typeof maelstrom_run_fields>>;

/**
 * The run a step asks for, in the settings dslab test builds from its flags
 * (test-run.ts): a field the step leaves out is left to the run's default,
 * as a flag left out of dslab test is.
 */
export function labRunSettings(step: MaelstromRunStep, run: { workload: RunSettings['workload']; nodes: readonly string[]; concurrency: number; seed: number; history_file: string }): Omit<RunSettings, 'phase'> {
  return {
    workload: run.workload,
    nodes: run.nodes,
    concurrency: run.concurrency,
    time_limit_s: step.time_limit_s,
    rate_per_s: step.rate,
    latency_ms: step.latency_ms,
    nemesis: step.nemesis,
    nemesis_interval_s: step.nemesis_interval_s,
    key_count: step.key_count ?? null,
    ...(step.max_txn_length !== undefined ? { max_txn_length: step.max_txn_length } : {}),
    ...(step.max_writes_per_key !== undefined ? { max_writes_per_key: step.max_writes_per_key } : {}),
    ...(step.consistency_models !== undefined ? { consistency_models: step.consistency_models } : {}),
    seed: run.seed,
    history_file: run.history_file,
    ...(step.recovery_wait_s !== undefined ? { recovery_wait_s: step.recovery_wait_s } : {}),
  };
}

export const maelstrom_run_step = defineStep({
  name: 'maelstrom_run',
  description: "runs a Maelstrom workload on the test's nodes as `dslab test` does (clients, nemesis, healing, final reads, checker); fails unless the verdict is valid and within the budgets",
  needs_traffic: false,
  fields: maelstrom_run_fields,
  async run(step, ctx) {
    const config = ctx.supervisor.config;
    const named = (step.workload ?? config.workloads?.find((w) => driverFor(w as never) !== null)) as (typeof maelstrom_workloads)[number] | undefined;
    const workload = named ?? ctx.fail(`the lab names no workload dslab test runs (${runnable.join(', ')}): give the step a "workload"`);
    // The nodes under test: the first program group's (the one --bin replaced), in id order.
    const group = config.groups.find((g) => !g.server)!;
    const nodes = ctx.status().nodes.filter((n) => n.group === group.name).map((n) => n.id);
    const concurrency = typeof step.concurrency === 'number' ? step.concurrency : parseConcurrency(step.concurrency, nodes.length);
    if (step.latency_ms > 0) ctx.supervisor.setBaseLatency({ mean_ms: step.latency_ms, dist: step.latency_dist });
    const run = new MaelstromRun(
      { transport: transportOf(ctx), apply: (action, source) => ctx.supervisor.apply(action, source), status: () => ctx.status(), events: ctx.supervisor.events },
      labRunSettings(step, {
        workload,
        nodes,
        concurrency,
        seed: ctx.rng.int(0x7fff_ffff),
        history_file: path.join(ctx.dir, `maelstrom-${workload}-${ctx.memo('maelstrom_runs', () => ({ count: 0 })).count++ + 1}.jsonl`),
      }),
    );
    let outcome;
    try {
      outcome = await run.run();
    } finally {
      ctx.supervisor.setBaseLatency(null);
    }
    const budgets = {
      ...(step.msgs_per_op_max !== undefined ? { msgs_per_op_max: step.msgs_per_op_max } : {}),
      ...(step.stable_latency_ms_median_max !== undefined ? { stable_latency_ms_median_max: step.stable_latency_ms_median_max } : {}),
      ...(step.stable_latency_ms_max_max !== undefined ? { stable_latency_ms_max_max: step.stable_latency_ms_max_max } : {}),
      judge_reported: step.judge_reported,
    };
    const judgement = judgeRun({ workload, availability: step.availability ?? null }, outcome, budgets);
    if (judgement.verdict !== 'valid') ctx.fail([judgement.headline, ...judgement.reasons.filter((r) => !judgement.headline.includes(r.replace(/^[\w-]+: /, '')))].join('; '));
  },
});

export const maelstrom_steps = [maelstrom_run_step];
