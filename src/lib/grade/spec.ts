import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { SystemPlugin, WorkloadPlugin } from '../plugin.js';
import { UserError } from '../util/errors.js';
import { stepVocabulary, type Step, type StepDefinition, type StepVocabulary } from './steps.js';

export type { Step } from './steps.js';

/**
 * Node references in steps: an id (n3), "leader", "follower" (a random up node
 * that is not the leader), "random", or "$name" for a node an earlier step saved.
 *
 * A lab is a folder under labs/: README.md, spec.json (tests as steps and
 * checks, below), starter code. Adding a lab needs no code change: the steps
 * (src/lib/grade/steps.ts, and those its system and workloads contribute) and
 * checks form a small vocabulary the grader interprets.
 */

/** A step before its own schema checks it: the vocabulary it is checked by is the lab's (see loadLab). */
const rawStepSchema = z.looseObject({ do: z.string().min(1) });

/** The checks the grader's recorder runs over any test's event stream (recorder.ts); a lab's workloads add their history checks (lin-kv's linearizable, zk's zk_linearizable). */
export const recorder_check_names = ['one_leader_per_term', 'terms_monotonic', 'applied_agree', 'no_crash'] as const;

export const testSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'test names are lowercase words joined by dashes'),
  description: z.string(),
  points: z.number().int().min(0).max(1000),
  /** How many nodes the graded group has (the lab's graded_group: the nodes under test). */
  nodes: z.number().int().min(1).max(25),
  /** The other groups' counts, by group name (default: what `up` gives them); the reference runs them. */
  groups: z.record(z.string(), z.number().int().min(1).max(25)).optional(),
  time_limit_ms: z.number().int().min(1000).max(600_000),
  options: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(rawStepSchema).min(1),
  /** Checked over the whole run: the recorder's, from the event stream, and the lab's workloads', from their histories (loadLab checks the names). */
  checks: z.array(z.string().min(1)).default([]),
});

export type LabTest = Omit<z.infer<typeof testSchema>, 'steps'> & { steps: Step[] };

export const labSchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  /** The built-in system that is this lab's reference implementation. */
  reference: z.string(),
  /**
   * The program group of the reference system whose program --bin replaces
   * (snowflake's workers, beside the reference's coordinator); default: the
   * system's bin_group, else its first program group.
   */
  graded_group: z.string().optional(),
  /**
   * Other program groups the program under test runs as too, each counted as
   * `up` counts it or by a test's groups (the locks lab's one program is every
   * contender and the resource, acting as the group DSLAB_GROUP names); with
   * --reference each keeps its own program.
   */
  also_graded: z.array(z.string()).optional(),
  /** The workloads its tests drive (default: the ones the reference system speaks); their steps join the lab's vocabulary. */
  workloads: z.array(z.string()).optional(),
  /** Labs that grow one implementation share a starter: the lab whose starter/ to copy (default: this one). */
  starter: z.string().optional(),
  tests: z.array(testSchema).min(1),
});

export type LabSpec = Omit<z.infer<typeof labSchema>, 'tests'> & {
  tests: LabTest[];
  /** The group under test, resolved (the spec's or the system's first program group); absent when dslab has no such system. */
  graded_group?: string;
  dir: string;
  /** The steps its tests may use: the generic ones and those of its system and workloads. */
  steps: StepVocabulary;
  /** The workloads its tests drive, as plugins: their operations run in the test's supervisor, their history checks judge its runs. */
  workload_plugins: readonly WorkloadPlugin[];
};

/** The systems and workloads a lab's steps may come from (the command layer passes src/registry.ts's). */
export interface LabPlugins {
  systems: readonly Pick<SystemPlugin, 'name' | 'workloads' | 'steps' | 'groups' | 'bin_group' | 'starter_imports'>[];
  workloads: readonly WorkloadPlugin[];
  /** Steps every lab may use beside the grader's own (`dslab test`'s maelstrom_run). */
  steps?: readonly StepDefinition[];
}

/** The labs/ folder shipped with dslab. */
export function labsDir(): string {
  return fileURLToPath(new URL('../../../labs', import.meta.url));
}

export function loadLab(id: string, plugins: LabPlugins, dir = labsDir()): LabSpec {
  if (!/^[a-z0-9-]+$/.test(id)) throw new UserError(`bad lab name "${id}"`);
  const labDir = path.join(dir, id);
  const specFile = path.join(labDir, 'spec.json');
  if (!existsSync(specFile)) throw new UserError(`no lab named "${id}" (labs: ${listLabIds(dir).join(', ')})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(specFile, 'utf8'));
  } catch (error) {
    throw new UserError(`${specFile} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = labSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${specFile}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const names = parsed.data.tests.map((t) => t.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new UserError(`${specFile}: test name "${repeated}" is used twice`);
  const { vocabulary, source, workloads } = labVocabulary(parsed.data, plugins, specFile);
  const tests = parsed.data.tests.map((test, t) => ({ ...test, steps: test.steps.map((step, i) => checkStep(step, vocabulary, plugins, `${specFile}: tests.${t}.steps.${i}`, `test ${test.name}, step ${i + 1}`, source)) }));
  const allowed = [...recorder_check_names, ...workloads.flatMap((w) => Object.keys(w.checks))];
  for (const [t, test] of parsed.data.tests.entries()) {
    for (const check of test.checks) {
      if (allowed.includes(check)) continue;
      // A history check only a workload can run (lin-kv's linearizable) needs that workload in the lab.
      const owners = plugins.workloads.filter((w) => Object.hasOwn(w.checks, check)).map((w) => w.name);
      const what = owners.length ? `a check of workload ${owners.join(', ')}, which this lab (${source}) does not use` : 'not a check dslab knows';
      throw new UserError(`${specFile}: tests.${t}.checks: "${check}" is ${what}; this lab's checks: ${allowed.join(', ')}`);
    }
  }
  const system = plugins.systems.find((s) => s.name === parsed.data.reference);
  const graded_group = system ? checkLabGroups(parsed.data, system, specFile) : undefined;
  return { ...parsed.data, tests, dir: labDir, steps: vocabulary, workload_plugins: workloads, ...(graded_group ? { graded_group } : {}) };
}

/**
 * The group under test, and every group a spec names checked against the
 * reference system's groups: the graded one must run a node program, and a
 * test's `groups` counts only the others (the graded group's count is its `nodes`).
 */
function checkLabGroups(lab: z.infer<typeof labSchema>, system: Pick<SystemPlugin, 'name' | 'groups' | 'bin_group'>, specFile: string): string {
  const names = system.groups.map((g) => g.name).join(', ');
  const programs = system.groups.filter((g) => g.program !== undefined);
  const graded = lab.graded_group ?? system.bin_group ?? programs[0]?.name ?? fail(`${specFile}: system ${system.name} has no group of node programs to grade`);
  const group = system.groups.find((g) => g.name === graded);
  if (!group) fail(`${specFile}: graded_group: system ${system.name} has no group "${graded}" (its groups: ${names})`);
  if (group!.program === undefined) fail(`${specFile}: graded_group: group ${graded} of system ${system.name} runs real servers, not a node program (program groups: ${programs.map((g) => g.name).join(', ')})`);
  for (const name of lab.also_graded ?? []) {
    const also = system.groups.find((g) => g.name === name);
    if (!also) fail(`${specFile}: also_graded: system ${system.name} has no group "${name}" (its groups: ${names})`);
    if (also!.program === undefined) fail(`${specFile}: also_graded: group ${name} of system ${system.name} runs real servers, not a node program (program groups: ${programs.map((g) => g.name).join(', ')})`);
    if (name === graded) fail(`${specFile}: also_graded: ${name} is the graded group itself`);
  }
  for (const [t, test] of lab.tests.entries()) {
    for (const name of Object.keys(test.groups ?? {})) {
      if (name === graded) fail(`${specFile}: tests.${t}.groups.${name}: ${name} is the graded group, whose count is the test's "nodes" (test ${test.name})`);
      if (!system.groups.some((g) => g.name === name)) fail(`${specFile}: tests.${t}.groups.${name}: system ${system.name} has no group "${name}" (its groups: ${names}; test ${test.name})`);
    }
  }
  return graded;
}

/** The steps a lab may use, and what they come from in words ("system raft, workload lin-kv"). */
function labVocabulary(lab: { reference: string; workloads?: string[] | undefined }, plugins: LabPlugins, specFile: string): { vocabulary: StepVocabulary; source: string; workloads: WorkloadPlugin[] } {
  const system = plugins.systems.find((s) => s.name === lab.reference);
  const names = lab.workloads ?? system?.workloads ?? [];
  const workloads = names.map((name) => plugins.workloads.find((w) => w.name === name) ?? fail(`${specFile}: workloads: no workload is named "${name}" (workloads: ${plugins.workloads.map((w) => w.name).join(', ')})`));
  const contributions = [...(plugins.steps ? [{ owner: 'dslab test', steps: plugins.steps }] : []), ...(system ? [{ owner: `system ${system.name}`, steps: system.steps }] : []), ...workloads.map((w) => ({ owner: `workload ${w.name}`, steps: w.steps }))];
  const parts = [system ? `system ${system.name}` : `system ${lab.reference} (not one dslab has)`, names.length ? `workload${names.length === 1 ? '' : 's'} ${names.join(', ')}` : 'no workload'];
  return { vocabulary: stepVocabulary(contributions), source: parts.join(', '), workloads };
}

/** One step checked by the schema of its kind, which the lab's vocabulary must have. */
function checkStep(raw: Step, vocabulary: StepVocabulary, plugins: LabPlugins, where: string, which: string, source: string): Step {
  const definition = vocabulary.get(raw.do);
  if (!definition) {
    const owner = [...plugins.systems.map((s) => ({ kind: 'system', name: s.name, steps: s.steps })), ...plugins.workloads.map((w) => ({ kind: 'workload', name: w.name, steps: w.steps }))].find((p) => p.steps?.some((s) => s.name === raw.do));
    const whose = owner ? `a step of ${owner.kind} ${owner.name}, which this lab (${source}) does not include` : `not a step dslab knows`;
    fail(`${where}.do: "${raw.do}" (${which}) is ${whose}; this lab's steps: ${[...vocabulary.keys()].join(', ')}`);
  }
  const { do: kind, ...fields } = raw;
  const parsed = definition!.fields.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message} (${which}, ${kind})`);
  }
  return { do: kind, ...(parsed.data as Record<string, unknown>) };
}

const fail = (message: string): never => {
  throw new UserError(message);
};

export function listLabIds(dir = labsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'spec.json')))
    .map((e) => e.name)
    .sort(labOrder);
}

/** Warm-ups first, then Maelstrom's challenges after them, then the Raft labs and the Zab labs, each in the order they build on each other, then the labs of systems built on Zab, then circuit breakers. */
const lab_order = ['echo', 'unique-ids', 'broadcast-single', 'broadcast-multi', 'broadcast-partitions', 'broadcast-efficiency', 'g-counter', 'kafka-single', 'kafka-replicated', 'kafka-efficient', 'txn-uncommitted', 'txn-committed', 'raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots', 'kv-linearizable', 'zab-election', 'zab-broadcast', 'zk-sessions', 'snowflake', 'locks', 'circuit-breaker'];
function labOrder(a: string, b: string): number {
  const ia = lab_order.indexOf(a);
  const ib = lab_order.indexOf(b);
  return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
}
