// The circuit-breaker lab's grader steps. They reach the cluster only through the grader's step
// context.
/**
 * The grader's breaker steps (beyond the shared sleep, heal, pause and link_faults). A test makes the
 * dependency fail (breaker_fail), drives the services with the breaker workload's open-loop load
 * (breaker_load, in the background or not, and breaker_load_wait), waits for a service's reported
 * breaker state (breaker_wait_state), holds it to one state throughout (breaker_expect_state), and at
 * the end judges the router's trace with the checker (breaker_check): what went over the wire, not
 * what the code under test says of itself.
 */
import { z } from 'zod';
import type { ClusterEvent, NodeStatus } from '../../lib/control/api.js';
import { defineStep, node_ref, sleep, step_duration_ms, type StepContext, type StepDefinition } from '../../lib/grade/steps.js';
import type { LoadStats } from '../../lib/load-stats.js';
import { breaker_properties, checkBreaker } from './checker.js';
import { resolveResilienceConfig } from './core/index.js';
import { breaker_outcomes, readBreakerTrace, type TracedBreakerRecord } from './trace-read.js';

/** The trace is written through a stream: a short wait lets what was routed reach the file before it is read. */
export const breaker_trace_settle_ms = 300;
/** A load ends its last requests' client timeouts, and says it is done, within this much past its duration. */
export const breaker_load_finish_grace_ms = 15_000;
/** The service group's name (the lab's graded group). */
const services_group = 'services';
/** The dependency group's name (dslab's d1; redis1 with --dependency redis). */
const dependency_group = 'dependency';

/** The states a service reports as `breaker`. */
const breaker_states = ['closed', 'open', 'half_open'] as const;

/** The outcomes a load records for each request (the trace reader's words). */
const load_outcomes = breaker_outcomes;
type LoadOutcome = (typeof load_outcomes)[number];

const pct = z.number().min(0).max(100);
const count = z.number().int().min(0);
/** What a finished load must show: per outcome a least count (`_min`) or most (`_max`), or a least or most share of all requests sent (`_pct_min`, `_pct_max`). */
const load_expectation = z.strictObject(Object.fromEntries(load_outcomes.flatMap((o) => [[`${o}_min`, count.optional()], [`${o}_max`, count.optional()], [`${o}_pct_min`, pct.optional()], [`${o}_pct_max`, pct.optional()]])) as Record<string, z.ZodOptional<z.ZodNumber>>);
type LoadExpectation = Partial<Record<string, number>>;

/** One finished load: how many requests ended in each outcome. */
export interface LoadCounts {
  sent: number;
  outcomes: Record<LoadOutcome, number>;
}

/**
 * A finished load's outcome counts, from its stats' own outcomes (absent: none settled). `sent` is
 * the requests settled; those the load dropped past its in-flight bound reached no service and are
 * not counted.
 */
export function loadCounts(stats: Pick<LoadStats, 'outcomes'> | undefined): LoadCounts {
  const counts = stats?.outcomes?.counts ?? {};
  const outcomes = Object.fromEntries(load_outcomes.map((o) => [o, counts[o] ?? 0])) as Record<LoadOutcome, number>;
  const sent = load_outcomes.reduce((sum, o) => sum + outcomes[o], 0);
  return { sent, outcomes };
}

/** Why a finished load misses its expectation, in words, or null when it meets it. */
export function loadShortfall(counts: LoadCounts, expect: LoadExpectation): string | null {
  const summary = load_outcomes.filter((o) => counts.outcomes[o] > 0).map((o) => `${counts.outcomes[o]} ${o.replaceAll('_', '-')}`).join(', ') || 'no request answered';
  if (counts.sent === 0 && Object.keys(expect).length > 0) return 'the load recorded no request';
  for (const [key, bound] of Object.entries(expect)) {
    if (bound === undefined) continue;
    const match = /^(.+?)_(pct_min|pct_max|min|max)$/.exec(key)!;
    const outcome = match[1] as LoadOutcome;
    const kind = match[2]!;
    const n = counts.outcomes[outcome];
    const share = (100 * n) / counts.sent;
    // To a tenth, so a share just under its bound never reads as equal to it.
    const shown = `${Math.round(share * 10) / 10}%`;
    const words = outcome.replaceAll('_', '-');
    if (kind === 'min' && n < bound) return `${n} of ${counts.sent} requests were ${words}, expected at least ${bound} (${summary})`;
    if (kind === 'max' && n > bound) return `${n} of ${counts.sent} requests were ${words}, expected at most ${bound} (${summary})`;
    if (kind === 'pct_min' && share < bound) return `${shown} of ${counts.sent} requests were ${words}, expected at least ${bound}% (${summary})`;
    if (kind === 'pct_max' && share > bound) return `${shown} of ${counts.sent} requests were ${words}, expected at most ${bound}% (${summary})`;
  }
  return null;
}

/** A load left running by breaker_load with background, for breaker_load_wait. */
interface RunningLoad {
  done: Promise<LoadCounts> | null;
  expect: LoadExpectation | undefined;
}
const load_key = 'breaker.load';

function services(ctx: StepContext): NodeStatus[] {
  return ctx.status().nodes.filter((n) => n.group === services_group);
}

/** The services a reference names: "all" (every service), "any" (the first to match wins), or one node. */
function serviceTargets(ctx: StepContext, ref: string): { ids: string[]; all: boolean } {
  if (ref === 'all' || ref === 'any') {
    const ids = services(ctx).map((n) => n.id);
    if (ids.length === 0) ctx.fail('this cluster has no services (group services)');
    return { ids, all: ref === 'all' };
  }
  return { ids: [ctx.node(ref)], all: true };
}

function dependencyId(ctx: StepContext): string {
  const members = ctx.status().nodes.filter((n) => n.group === dependency_group || n.group === 'redis');
  return members[0]?.id ?? ctx.fail('this cluster has no dependency node (group dependency)');
}

/** Starts the breaker workload's load; `done` resolves with its counts when it reports done (a bare promise would be awaited away). */
async function startLoad(ctx: StepContext, step: { rate: number; duration_ms: number; bad_pct?: number | undefined; services?: string[] | undefined }): Promise<{ done: Promise<LoadCounts> }> {
  const within = step.duration_ms + breaker_load_finish_grace_ms;
  let finished: LoadStats | undefined;
  const done = ctx
    .waitFor((e: ClusterEvent) => {
      if (e.type !== 'load' || e.phase !== 'done') return false;
      finished = e.stats;
      return true;
    }, within, `the breaker load (${step.rate} requests/s for ${step.duration_ms} ms) to finish`)
    .then(() => loadCounts(finished));
  // Failing the step (a rejection here) is reported by whoever awaits it; never leave it unhandled.
  done.catch(() => undefined);
  const args: Record<string, unknown> = { rate_per_s: step.rate, duration_ms: step.duration_ms, seed: ctx.rng.int(2 ** 31) };
  if (step.bad_pct !== undefined) args.bad_pct = step.bad_pct;
  if (step.services) args.services = step.services.map((ref) => ctx.node(ref));
  await ctx.act({ type: 'workload', workload: 'breaker', op: 'load', args });
  return { done };
}

async function finishLoad(ctx: StepContext, done: Promise<LoadCounts>, expect: LoadExpectation | undefined): Promise<void> {
  const counts = await done;
  const why = expect ? loadShortfall(counts, expect) : null;
  if (why) ctx.fail(why);
}

/** The state a service reports now, or null when it reports none. */
function reportedState(node: NodeStatus | undefined): string | null {
  const state = node?.state.breaker;
  return typeof state === 'string' ? state : null;
}

const load_fields = {
  rate: z.number().min(0.1).max(5000),
  duration_ms: step_duration_ms,
  bad_pct: pct.optional(),
  services: z.array(node_ref).min(1).optional(),
  expect: load_expectation.optional(),
};

export const breaker_steps: readonly StepDefinition[] = [
  defineStep({
    name: 'breaker_fail',
    description:
      'Make the dependency (d1) fail at the application level, as `dslab fail` does: errors_pct of its calls answered with an error, latency_ms added to each answer, or (hang) no answer at all. It replaces the fault in force (fields not given are cleared); `heal` clears it.',
    fields: { node: node_ref.optional(), errors_pct: pct.optional(), latency_ms: step_duration_ms.optional(), hang: z.boolean().optional() },
    node_fields: ['node'],
    async run(step, ctx) {
      const node = step.node ? ctx.node(step.node) : dependencyId(ctx);
      await ctx.act({ type: 'fail', node, errors_pct: step.errors_pct ?? 0, latency_ms: step.latency_ms ?? 0, hang: step.hang ?? false });
    },
  }),
  defineStep({
    name: 'breaker_load',
    description:
      'Run the breaker workload\'s open-loop load: `rate` requests per second for duration_ms, spread over the services (or those named), bad_pct of them bad requests. Waits until it is done and holds it to `expect`, unless background: then breaker_load_wait does.',
    fields: { ...load_fields, background: z.boolean().optional() },
    needs_traffic: true,
    async run(step, ctx) {
      const running = ctx.memo<RunningLoad>(load_key, () => ({ done: null, expect: undefined }));
      if (running.done) ctx.fail('a breaker load is still running: add a breaker_load_wait step before the next breaker_load');
      const { done } = await startLoad(ctx, step);
      if (step.background) {
        running.done = done;
        running.expect = step.expect;
        ctx.background(done.then(() => undefined));
        return;
      }
      await finishLoad(ctx, done, step.expect);
    },
  }),
  defineStep({
    name: 'breaker_load_wait',
    description: 'Wait for the load a breaker_load left in the background to finish, and hold it to `expect` (this step\'s, else the one breaker_load gave).',
    fields: { expect: load_expectation.optional() },
    async run(step, ctx) {
      const running = ctx.memo<RunningLoad>(load_key, () => ({ done: null, expect: undefined }));
      const done = running.done ?? ctx.fail('breaker_load_wait needs a breaker_load with background: true before it');
      running.done = null;
      await finishLoad(ctx, done, step.expect ?? running.expect);
    },
  }),
  defineStep({
    name: 'breaker_wait_state',
    description:
      'Wait until a service (a node, "any" or "all") reports `breaker` equal to state in its dslab_state, within within_ms. A state reported in passing counts (a half-open that reopened at once), so a report must come, not only be in force.',
    fields: { node: z.string().min(1), state: z.enum(breaker_states), within_ms: step_duration_ms },
    needs_state_reports: true,
    async run(step, ctx) {
      const { ids, all } = serviceTargets(ctx, step.node);
      const seen = new Set<string>();
      const now = ctx.status().nodes;
      // In force now counts at once, except a passing state (half_open) only a new report proves.
      for (const id of ids) if (reportedState(now.find((n) => n.id === id)) === step.state) seen.add(id);
      const reached = () => (all ? ids.every((id) => seen.has(id)) : ids.some((id) => seen.has(id)));
      if (reached()) return;
      const who = ids.length === 1 ? ids[0]! : `${all ? 'every' : 'a'} service (${ids.join(', ')})`;
      try {
        await ctx.waitFor(
          (e) => {
            if (e.type !== 'node_state' || !ids.includes(e.node) || e.state.breaker !== step.state) return false;
            seen.add(e.node);
            return reached();
          },
          step.within_ms,
          `${who} to report breaker ${step.state}`,
        );
      } catch {
        const states = ctx.status().nodes.filter((n) => ids.includes(n.id)).map((n) => `${n.id} ${reportedState(n) ?? 'reports no breaker state'}`);
        ctx.fail(`${who} did not report breaker ${step.state} within ${step.within_ms} ms (now: ${states.join(', ')})`);
      }
    },
  }),
  defineStep({
    name: 'breaker_expect_state',
    description:
      'Every service (or the one named) reports breaker `state` now; with throughout, every breaker state each one reported in the router\'s trace since the test began was that state (a breaker that opened and closed again in between is caught).',
    fields: { node: z.string().min(1).optional(), state: z.enum(breaker_states), throughout: z.boolean().optional() },
    needs_state_reports: true,
    async run(step, ctx) {
      const { ids } = serviceTargets(ctx, step.node ?? 'all');
      for (const node of ctx.status().nodes.filter((n) => ids.includes(n.id))) {
        const state = reportedState(node);
        if (state !== step.state) ctx.fail(`${node.id} reports breaker ${state ?? '(none: no dslab_state with breaker)'}, expected ${step.state}`);
      }
      if (!step.throughout) return;
      const record = await readRecord(ctx);
      const other = record.states.find((s) => ids.includes(s.node) && s.breaker !== step.state);
      if (other) ctx.fail(`${other.node} reported breaker ${other.breaker} at ${((other.at_ms - record.start_ms) / 1000).toFixed(1)} s, expected ${step.state} throughout`);
    },
  }),
  defineStep({
    name: 'breaker_check',
    description:
      'Judge the router\'s trace so far with the breaker checker: the named properties (default: all of them) must hold. Each violation is named with its service, its time and its numbers.',
    fields: { properties: z.array(z.enum(breaker_properties)).min(1).optional() },
    async run(step, ctx) {
      const record = await readRecord(ctx);
      const properties = new Set<string>(step.properties ?? breaker_properties);
      const verdict = checkBreaker(record);
      const broken = verdict.violations.filter((v) => properties.has(v.property));
      if (broken.length === 0) return;
      const shown = broken.slice(0, violations_shown_max).map((v) => `${v.property}: ${v.text}`);
      const more = broken.length > violations_shown_max ? ` (and ${broken.length - violations_shown_max} more)` : '';
      ctx.fail(`the breaker checker found ${broken.length} violation${broken.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`);
    },
  }),
];

/** Violations quoted in a failed breaker_check (the kept trace has them all). */
export const violations_shown_max = 3;

/** The router's record of the run so far, as the checker reads it. */
async function readRecord(ctx: StepContext): Promise<TracedBreakerRecord> {
  await sleep(breaker_trace_settle_ms);
  const status = ctx.status();
  if (status.trace.truncated) ctx.fail('the message trace was truncated, so the breaker checker cannot judge the run');
  const members = { services: services(ctx).map((n) => n.id), dependency: dependencyId(ctx) };
  return readBreakerTrace(status.trace.path, members, resolveResilienceConfig(ctx.supervisor.config.options ?? {}));
}
