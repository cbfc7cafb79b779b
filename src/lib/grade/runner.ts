import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ClusterEvent, ClusterStatus } from '../control/api.js';
import { makePrivateDir } from '../cluster/paths.js';
import { memberIds, type GroupConfig } from '../cluster/groups.js';
import { fixedClientId, rangeClientId } from '../supervisor/client-ids.js';
import { ClusterStartError, Supervisor } from '../supervisor/supervisor.js';
import { errorMessage } from '../util/errors.js';
import { createRng, type Rng } from '../util/prng.js';
import type { HistoryChecker, SystemView } from '../plugin.js';
import { findLeader, isLeadingRole, type RoleVocabulary, termOf } from '../roles.js';
import { diagnose, Evidence, type FailedAt } from './diagnose.js';
import { Recorder, type NonLinearizableKey, type TimelinePoint } from './recorder.js';
import type { LabSpec, LabTest } from './spec.js';
import { isChoosingRef, refCandidates, type Step, type StepContext, type StepVocabulary } from './steps.js';

/** Budget for checking one test's history. */
const history_check_timeout_ms = 30_000;
const init_timeout_ms = 10_000;

export interface GradeTarget {
  /** The groups each test's cluster runs, by test name: the reference system's, the graded group's program replaced by the one under test. */
  groups: ReadonlyMap<string, GroupConfig[]>;
  /** The group under test (its program is --bin's): "random" in a step picks among its nodes. */
  graded_group: string;
  /** The group answering each workload, as the reference system says (SystemPlugin.workload_groups). */
  workload_groups?: Record<string, string>;
  /** How the user named it, for the replay command: --bin "…" or --reference. */
  replay_flag: string;
  /** How the user ran dslab, for the replay command: "dslab", "npx dslab", "node bin/run.js". */
  program: string;
  /** The lab's reference system's role vocabulary and columns: what a node under test is judged by. */
  view: SystemView;
}

export interface TestResult {
  lab: string;
  test: string;
  description: string;
  points: number;
  earned: number;
  passed: boolean;
  seed: number;
  elapsed_ms: number;
  /** What broke, in plain words, with its likely cause when the grader can tell (null when passed). */
  failure: string | null;
  /** The likely cause alone (also at the end of failure), from what the nodes did: null when passed or unknown. */
  cause: string | null;
  replay: string;
  /** Where the node logs, trace and history of a failed test are kept (null when passed). */
  kept_dir: string | null;
  timeline: TimelinePoint[];
  /** The cluster's node ids, group by group (z1..z3, w1..w4): what reports draw as nodes rather than clients. */
  nodes: string[];
  /** For a linearizability failure: the operations that cannot be ordered. */
  bad_ops: string[];
  /** For a linearizability failure: the history file, key and operations, for the report's diagram (null otherwise). */
  nonlinearizable: NonLinearizableKey | null;
  started_at_ms: number;
}

class GradeFailure extends Error {
  /** It is the recorder's first violation itself (not a symptom after it). */
  constructor(
    message: string,
    readonly is_violation = false,
  ) {
    super(message);
  }
}

const fail = (message: string): never => {
  throw new GradeFailure(message);
};

/** Ends the test with the recorder's first broken invariant. */
const failWithViolation = (message: string): never => {
  throw new GradeFailure(message, true);
};

/** Runs one test of a lab against a target on a fresh cluster, and always stops it. */
export async function runTest(lab: LabSpec, test: LabTest, target: GradeTarget, seed: number, workDir: string): Promise<TestResult> {
  const dir = path.join(workDir, `${test.name}-${seed}`);
  rmSync(dir, { recursive: true, force: true });
  // A kept failure holds the nodes' data, logs and message trace: private, like a cluster's directory.
  makePrivateDir(workDir);
  makePrivateDir(dir);
  const roles = target.view.roles;
  const groups = target.groups.get(test.name) ?? fail(`grader error: no cluster planned for test ${test.name}`);
  const recorder = new Recorder(new Set(test.checks), roles);
  const started = Date.now();
  const result: TestResult = {
    lab: lab.id,
    test: test.name,
    description: test.description,
    points: test.points,
    earned: 0,
    passed: false,
    seed,
    elapsed_ms: 0,
    failure: null,
    cause: null,
    replay: `${target.program} grade ${lab.id} ${target.replay_flag} --only ${test.name} --seed ${seed}`,
    kept_dir: null,
    timeline: recorder.timeline,
    nodes: groups.flatMap((g) => memberIds(g)),
    bad_ops: [],
    nonlinearizable: null,
    started_at_ms: started,
  };
  const evidence = new Evidence(roles);
  let supervisor: Supervisor | null = null;
  let run: TestRun | null = null;
  let timer: NodeJS.Timeout | undefined;
  // What the cluster looked like when the test failed, for the diagnosis.
  let status: ClusterStatus | null = null;
  // The node whose exit stopped the cluster's start (the start error reports it).
  let start_exit: string | null = null;
  let start_line: { node: string; line: string } | null = null;
  const observe = (event: ClusterEvent) => {
    recorder.onEvent(event);
    evidence.onEvent(event);
  };
  try {
    supervisor = await Supervisor.start({
      name: 'cluster',
      system: lab.reference,
      groups,
      ...(target.workload_groups ? { workload_groups: target.workload_groups } : {}),
      seed,
      home: dir,
      cwd: process.cwd(),
      init_timeout_ms,
      options: test.options,
      view: target.view,
      // The lab's workloads' afterInit hooks run as under `up` (broadcast's topology).
      workloads: lab.workload_plugins.map((w) => w.name),
    }, { workloads: lab.workload_plugins }).catch((error: unknown) => {
      // Evidence only: the checks judge a running cluster, and the start error already says what failed.
      if (error instanceof ClusterStartError) {
        status = error.status;
        for (const event of error.events) evidence.onEvent(event);
        // An exit fails that node's init at once, so the first unexpected exit is the one the start error reports.
        start_exit = evidence.exits[0]?.node ?? null;
        start_line = error.line_told;
      }
      return fail(`the cluster did not start: ${errorMessage(error)}`);
    });
    for (const event of supervisor.events.history()) observe(event);
    supervisor.events.subscribe(observe);
    run = new TestRun(supervisor, recorder, evidence, createRng(seed), dir, roles, lab.steps, target.graded_group);
    const steps = run.steps(test.steps);
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GradeFailure(`the test did not finish within its time limit of ${test.time_limit_ms / 1000}s`)), test.time_limit_ms);
    });
    await Promise.race([steps, limit]);
    const violation = recorder.firstViolation();
    if (violation) failWithViolation(violation);
    for (const check of test.checks) {
      const checker = lab.workload_plugins.find((w) => check in w.checks)?.checks[check];
      if (checker) run.checkHistories(result, check, checker);
    }
    result.passed = true;
    result.earned = test.points;
  } catch (error) {
    let failure = error instanceof GradeFailure ? error.message : `grader error: ${errorMessage(error)}`;
    // An invariant broken during the run explains a later symptom better than the symptom.
    const violation = recorder.firstViolation();
    if (violation && !(error instanceof GradeFailure && error.is_violation)) failure = `${violation} (then: ${failure})`;
    status ??= supervisor?.status() ?? null;
    const failedAt: FailedAt = run ? run.currentStep : 'start';
    const crashed = violation ? recorder.firstViolationCrash() : null;
    const exits_told = [...(crashed ? [crashed] : []), ...(start_exit ? [start_exit] : [])];
    result.cause = diagnose({ failed_at: failedAt, steps: lab.steps, exits_told, lines_told: start_line ? [start_line] : [], status, evidence, state_reports_help: `see "State reports" in: ${target.program} lab show ${lab.id}` });
    result.failure = result.cause ? `${failure}; likely cause: ${result.cause}` : failure;
  } finally {
    clearTimeout(timer);
    await supervisor?.shutdown();
    result.elapsed_ms = Date.now() - started;
  }
  if (result.passed) rmSync(dir, { recursive: true, force: true });
  else result.kept_dir = dir;
  return result;
}

/** The state of one test while its steps run: what its steps see as their StepContext. */
class TestRun implements StepContext {
  private readonly saved = new Map<string, string>();
  private readonly histories: string[] = [];
  private readonly memos = new Map<string, unknown>();
  /** Work steps left running (a background load), waited for after the last step. */
  private readonly pending: Promise<void>[] = [];
  /** The step running now, or the last one run (null once all steps passed). */
  currentStep: Step | null = null;

  constructor(
    readonly supervisor: Supervisor,
    readonly recorder: Recorder,
    private readonly evidence: Evidence,
    readonly rng: Rng,
    readonly dir: string,
    readonly roles: RoleVocabulary,
    private readonly vocabulary: StepVocabulary,
    private readonly graded_group: string,
  ) {}

  async steps(steps: readonly Step[]): Promise<void> {
    for (const [index, step] of steps.entries()) {
      this.currentStep = step;
      try {
        await this.run(step);
      } catch (error) {
        if (error instanceof GradeFailure) throw new GradeFailure(`step ${index + 1} (${step.do}): ${error.message}`);
        throw error;
      }
      const violation = this.recorder.firstViolation();
      if (violation) failWithViolation(violation);
    }
    for (const work of this.pending) await work;
    this.currentStep = null;
  }

  run(step: Step): Promise<void> {
    // loadLab checked every step against the lab's vocabulary; a step missing here is a grader bug.
    const definition = this.vocabulary.get(step.do) ?? fail(`grader error: no step named ${step.do}`);
    return definition.run(step, this);
  }

  status(): ClusterStatus {
    return this.supervisor.status();
  }

  fail(message: string): never {
    return fail(message);
  }

  save(name: string, node: string): void {
    this.saved.set(name, node);
  }

  historyFile(): string {
    const file = path.join(this.dir, `history-${this.histories.length + 1}.jsonl`);
    this.histories.push(file);
    return file;
  }

  memo<T>(key: string, create: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, create());
    return this.memos.get(key) as T;
  }

  background(work: Promise<void>): void {
    // Handled now so a test that fails before waiting for it does not leave an unhandled rejection; awaiting it later still throws.
    work.catch(() => undefined);
    this.pending.push(work);
  }

  /** "$name" is a node saved by an earlier step; "leader" is the one that leads; "random", "random:GROUP" and "follower" choose (see refCandidates). */
  node(ref: string, excluding: ReadonlySet<string> = new Set()): string {
    if (ref.startsWith('$')) return this.saved.get(ref.slice(1)) ?? fail(`no node was saved as ${ref}`);
    if (ref === 'leader') return this.leader() ?? fail('no node reports itself leader, and no write has succeeded to show which node serves them');
    if (!isChoosingRef(ref)) return ref;
    const candidates = this.candidates(ref, excluding);
    if (candidates.length > 0) return this.rng.pick(candidates);
    return fail(ref === 'follower' ? 'no up node other than the leader' : ref === 'random' ? `no up node in group ${this.graded_group} to choose` : `no up node in group ${ref.slice('random:'.length)} to choose`);
  }

  candidates(ref: string, excluding: ReadonlySet<string> = new Set()): string[] {
    return refCandidates(ref, { nodes: this.status().nodes, graded_group: this.graded_group, leader: () => this.leader(), excluding, fail });
  }

  /**
   * The node that leads: the one whose state reports say so, or, for nodes that
   * send no reports (a black-box lin-kv store), the up node that answered the
   * latest successful write, as a client would find it.
   */
  private leader(): string | null {
    const reported = this.supervisor.leader();
    if (reported) return reported;
    const nodes = this.status().nodes;
    if (nodes.some((n) => n.state_at_ms !== null)) return null;
    const writer = this.evidence.last_writer;
    return writer !== null && nodes.some((n) => n.id === writer && n.status === 'up') ? writer : null;
  }

  async act(action: Parameters<Supervisor['apply']>[0]): Promise<Record<string, unknown>> {
    try {
      return await this.supervisor.apply(action);
    } catch (error) {
      return fail(errorMessage(error));
    }
  }

  waitFor(match: (event: ClusterEvent) => boolean, timeout_ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new GradeFailure(`timed out waiting for ${what}`));
      }, timeout_ms);
      const unsubscribe = this.supervisor.events.subscribe((event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      });
    });
  }

  /** Runs a workload's history check over every history the test's loads wrote. */
  checkHistories(result: TestResult, name: string, checker: HistoryChecker): void {
    if (this.histories.length === 0) fail(`the ${name} check needs a load step`);
    for (const file of this.histories) {
      if (!existsSync(file)) fail(`no history was written to ${file}`);
      // Times from the test's start, like the rest of the report (the file itself keeps epoch milliseconds).
      const check = checker.check(file, history_check_timeout_ms, result.started_at_ms);
      if (check.result === 'invalid') {
        const violation = check.violation!;
        const base = path.basename(file);
        if (violation.failure !== undefined) fail(violation.failure);
        result.bad_ops = violation.ops.map((op) => `${base} ${op.text}`);
        // The report draws a violation's operations; one that names none is told in words alone.
        if (violation.ops.length > 0) result.nonlinearizable = { history_file: file, ...violation };
        fail(checker.describe ? checker.describe(violation, base) : `the history is not ${name} on key ${violation.key} (${base}; times in ms from the test's start): ${violation.explanation}`);
      }
      if (check.result === 'unknown') fail(`the ${name} check did not finish: ${check.reason ?? 'time budget ran out'}`);
    }
  }
}
