import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ClusterEvent, ClusterStatus } from '../control/api.js';
import { checkHistoryFile } from '../checker/check-file.js';
import { makePrivateDir } from '../cluster/paths.js';
import { default_group } from '../cluster/groups.js';
import { formatOperation } from '../checker/history.js';
import { fixedClientId, rangeClientId } from '../supervisor/client-ids.js';
import { ClusterStartError, Supervisor } from '../supervisor/supervisor.js';
import { errorMessage } from '../util/errors.js';
import { createRng, type Rng } from '../util/prng.js';
import type { SystemView } from '../plugin.js';
import { findLeader, isLeadingRole, type RoleVocabulary, termOf } from '../roles.js';
import { diagnose, Evidence, type FailedAt } from './diagnose.js';
import { Recorder, type NonLinearizableKey, type TimelinePoint } from './recorder.js';
import type { LabSpec, LabTest, Step } from './spec.js';

/** How often waits re-read the cluster's state. */
const poll_interval_ms = 50;
/** Budget for checking one test's history. */
const history_check_timeout_ms = 30_000;
const init_timeout_ms = 10_000;

export interface GradeTarget {
  /** The node program as argv. */
  command: string[];
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
  /** For a linearizability failure: the operations that cannot be ordered. */
  bad_ops: string[];
  /** For a linearizability failure: the history file, key and operations, for the report's diagram (null otherwise). */
  nonlinearizable: NonLinearizableKey | null;
  started_at_ms: number;
}

class GradeFailure extends Error {}

const fail = (message: string): never => {
  throw new GradeFailure(message);
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one test of a lab against a target on a fresh cluster, and always stops it. */
export async function runTest(lab: LabSpec, test: LabTest, target: GradeTarget, seed: number, workDir: string): Promise<TestResult> {
  const dir = path.join(workDir, `${test.name}-${seed}`);
  rmSync(dir, { recursive: true, force: true });
  // A kept failure holds the nodes' data, logs and message trace: private, like a cluster's directory.
  makePrivateDir(workDir);
  makePrivateDir(dir);
  const roles = target.view.roles;
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
  const observe = (event: ClusterEvent) => {
    recorder.onEvent(event);
    evidence.onEvent(event);
  };
  try {
    supervisor = await Supervisor.start({
      name: 'cluster',
      system: lab.reference,
      groups: [{ ...default_group, count: test.nodes, command: target.command }],
      seed,
      home: dir,
      cwd: process.cwd(),
      init_timeout_ms,
      options: test.options,
      view: target.view,
    }).catch((error: unknown) => {
      // Evidence only: the checks judge a running cluster, and the start error already says what failed.
      if (error instanceof ClusterStartError) {
        status = error.status;
        for (const event of error.events) evidence.onEvent(event);
      }
      return fail(`the cluster did not start: ${errorMessage(error)}`);
    });
    for (const event of supervisor.events.history()) observe(event);
    supervisor.events.subscribe(observe);
    run = new TestRun(supervisor, recorder, evidence, createRng(seed), dir, roles);
    const steps = run.steps(test.steps);
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GradeFailure(`the test did not finish within its time limit of ${test.time_limit_ms / 1000}s`)), test.time_limit_ms);
    });
    await Promise.race([steps, limit]);
    const violation = recorder.firstViolation();
    if (violation) fail(violation);
    if (test.checks.includes('linearizable')) run.checkHistories(result);
    result.passed = true;
    result.earned = test.points;
  } catch (error) {
    let failure = error instanceof GradeFailure ? error.message : `grader error: ${errorMessage(error)}`;
    // An invariant broken during the run explains a later symptom better than the symptom.
    const violation = recorder.firstViolation();
    if (violation && !failure.startsWith(violation)) failure = `${violation} (then: ${failure})`;
    status ??= supervisor?.status() ?? null;
    const failedAt: FailedAt = run ? run.currentStep : 'start';
    result.cause = diagnose({ failed_at: failedAt, symptom: failure, status, evidence, state_reports_help: `see "State reports" in: ${target.program} lab show ${lab.id}` });
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

/** The state of one test while its steps run. */
class TestRun {
  private readonly saved = new Map<string, string>();
  private readonly histories: string[] = [];
  private loadDone: Promise<void> | null = null;
  /** Every id handed out in this test, across generate steps (and restarts), with the node that gave it. */
  private readonly generatedIds = new Map<string, string>();
  private lastLeader: { id: string; term: number } | null = null;
  /** The step running now, or the last one run (null once all steps passed). */
  currentStep: Step | null = null;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly recorder: Recorder,
    private readonly evidence: Evidence,
    private readonly rng: Rng,
    private readonly dir: string,
    private readonly roles: RoleVocabulary,
  ) {}

  async steps(steps: readonly Step[]): Promise<void> {
    for (const [index, step] of steps.entries()) {
      this.currentStep = step;
      try {
        await this.step(step);
      } catch (error) {
        if (error instanceof GradeFailure) throw new GradeFailure(`step ${index + 1} (${step.do}): ${error.message}`);
        throw error;
      }
      const violation = this.recorder.firstViolation();
      if (violation) fail(violation);
    }
    if (this.loadDone) await this.loadDone;
    this.currentStep = null;
  }

  private status(): ClusterStatus {
    return this.supervisor.status();
  }

  /** "$name" is a node saved by an earlier step; "leader" and "random" are resolved by the supervisor. */
  private node(ref: string, excluding: ReadonlySet<string> = new Set()): string {
    if (ref.startsWith('$')) return this.saved.get(ref.slice(1)) ?? fail(`no node was saved as ${ref}`);
    if (ref === 'leader') return this.leader() ?? fail('no node reports itself leader, and no write has succeeded to show which node serves them');
    const up = this.status().nodes.filter((n) => n.status === 'up' && !excluding.has(n.id));
    if (ref === 'random') return up.length ? this.rng.pick(up.map((n) => n.id)) : fail('no up node to choose');
    if (ref === 'follower') {
      const leader = this.leader();
      const followers = up.filter((n) => n.id !== leader).map((n) => n.id);
      return followers.length ? this.rng.pick(followers) : fail('no up node other than the leader');
    }
    return ref;
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

  private async act(action: Parameters<Supervisor['apply']>[0]): Promise<Record<string, unknown>> {
    try {
      return await this.supervisor.apply(action);
    } catch (error) {
      return fail(errorMessage(error));
    }
  }

  /** The leader with the highest term among up nodes, if no up node has a higher term (no election under way). */
  private settledLeader(): { id: string; term: number } | null {
    const up = this.status().nodes.filter((n) => n.status === 'up');
    const best = findLeader(this.roles, up);
    if (!best) return null;
    const top = best.term ?? 0;
    return up.every((n) => (termOf(this.roles, n.state) ?? 0) <= top) ? { id: best.id, term: top } : null;
  }

  private async step(step: Step): Promise<void> {
    switch (step.do) {
      case 'wait_leader': {
        const avoid = step.different_from ? this.node(step.different_from) : null;
        const deadline = Date.now() + step.within_ms;
        for (;;) {
          const leader = this.settledLeader();
          if (leader && leader.id !== avoid) {
            this.saved.set(step.save_as ?? 'leader', leader.id);
            this.lastLeader = leader;
            return;
          }
          if (Date.now() > deadline) fail(avoid ? `no new leader (other than ${avoid}) within ${step.within_ms} ms` : `no leader within ${step.within_ms} ms`);
          await sleep(poll_interval_ms);
        }
      }
      case 'expect_no_new_leader': {
        const before = this.recorder.maxLeaderTerm;
        await sleep(step.for_ms);
        if (this.recorder.maxLeaderTerm > before) {
          const who = this.status().nodes.find((n) => isLeadingRole(this.roles, n.state) && termOf(this.roles, n.state) === this.recorder.maxLeaderTerm);
          fail(`${who?.id ?? 'a node'} became leader in term ${this.recorder.maxLeaderTerm} without a quorum`);
        }
        return;
      }
      case 'expect_leader_stable': {
        // The leader the last wait_leader found, in the term it had then: faults since must not have moved it.
        const start = this.lastLeader ?? fail('expect_leader_stable needs a wait_leader step before it');
        const deadline = Date.now() + step.for_ms;
        while (Date.now() < deadline) {
          await sleep(poll_interval_ms);
          const node = this.status().nodes.find((n) => n.id === start.id)!;
          if (!isLeadingRole(this.roles, node.state) || termOf(this.roles, node.state) !== start.term) {
            const now = this.settledLeader();
            fail(`leader ${start.id} (term ${start.term}) was disrupted: now ${now ? `${now.id} leads in term ${now.term}` : 'no leader'}`);
          }
        }
        return;
      }
      case 'sleep':
        return void (await sleep(step.ms));
      case 'pick':
        this.saved.set(step.save_as, this.node(step.node, new Set((step.not ?? []).map((ref) => this.node(ref)))));
        return;
      case 'kill':
      case 'pause': {
        const node = this.node(step.node);
        await this.act({ type: step.do, node });
        if (step.save_as) this.saved.set(step.save_as, node);
        return;
      }
      case 'restart':
        return void (await this.act({ type: 'restart', node: this.node(step.node) }));
      case 'kill_all':
        for (const node of this.status().nodes) if (node.status !== 'down') await this.act({ type: 'kill', node: node.id });
        return;
      case 'restart_all':
        for (const node of this.status().nodes) if (node.status === 'down') await this.act({ type: 'restart', node: node.id });
        return;
      case 'resume':
        return void (await this.act({ type: 'resume', node: this.node(step.node) }));
      case 'partition': {
        const isolate = step.isolate ? this.node(step.isolate) : undefined;
        await this.act({ type: 'partition', groups: step.groups?.map((g) => g.split(',').map((n) => this.node(n))), isolate, random: !step.groups && !isolate });
        if (step.save_as && isolate) this.saved.set(step.save_as, isolate);
        return;
      }
      case 'heal':
        return void (await this.act({ type: 'heal' }));
      case 'link_faults': {
        const { do: _do, ...faults } = step;
        return void (await this.act({ type: 'link_faults', ...faults }));
      }
      case 'random_partitions':
        for (let i = 0; i < step.count; i++) {
          await this.act({ type: 'partition', random: true });
          await sleep(step.hold_ms);
          await this.act({ type: 'heal' });
          await sleep(step.heal_ms);
        }
        return;
      case 'nemesis': {
        await this.act({ type: 'nemesis_start', seed: this.rng.int(2 ** 31), interval_ms: step.interval_ms, duration_ms: step.duration_ms });
        await this.waitFor((e) => e.type === 'nemesis' && e.phase !== 'start', step.duration_ms + 30_000, 'the nemesis to finish');
        return;
      }
      case 'load': {
        const history = path.join(this.dir, `history-${this.histories.length + 1}.jsonl`);
        this.histories.push(history);
        const done = this.waitFor((e) => e.type === 'load' && e.phase === 'done', step.duration_ms + 60_000, 'the workload to finish');
        await this.act({ type: 'load_start', clients: step.clients, rate_per_s: step.rate_per_s, duration_ms: step.duration_ms, keys: step.keys, history_path: history, seed: this.rng.int(2 ** 31), mix: step.mix });
        this.loadDone = done;
        if (!step.background) await this.step({ do: 'wait_load' });
        return;
      }
      case 'wait_load':
        if (this.loadDone) await this.loadDone;
        this.loadDone = null;
        return;
      case 'kv':
        return this.kv(step);
      case 'wait_caught_up': {
        const deadline = Date.now() + step.within_ms;
        for (;;) {
          const up = this.status().nodes.filter((n) => n.status === 'up');
          const commits = up.map((n) => Number(n.state.commit_index ?? -1));
          const top = Math.max(...commits);
          if (top >= (step.min_commit_index ?? 0) && commits.every((c) => c === top)) return;
          if (Date.now() > deadline) {
            fail(`nodes did not catch up within ${step.within_ms} ms: commit indexes ${up.map((n, i) => `${n.id}=${commits[i]}`).join(', ')}`);
          }
          await sleep(poll_interval_ms);
        }
      }
      case 'expect_message_rate': {
        const count = () => this.status().links.reduce((sum, l) => sum + l.delivered + l.dropped, 0);
        const before = count();
        await sleep(step.for_ms);
        const rate = ((count() - before) * 1000) / step.for_ms;
        if (rate > step.max_per_s) fail(`nodes sent ${Math.round(rate)} messages/s, over the budget of ${step.max_per_s}/s`);
        return;
      }
      case 'send_writes': {
        // Fire and forget: entries a (soon minority) leader appends but can never commit.
        const node = this.node(step.node);
        for (let i = 0; i < step.count; i++) {
          void this.supervisor.request(fixedClientId('grader_doomed_writes'), node, { type: 'write', key: step.key, value: `doomed-${i}`, client: `doomed-${node}`, seq: i + 1 }, 1000).catch(() => undefined);
        }
        return;
      }
      case 'echo':
        return this.echo(step.count, step.timeout_ms);
      case 'generate':
        return this.generate(step.count, step.concurrency, step.timeout_ms);
      case 'expect_data_dir_below': {
        const node = this.node(step.node);
        const bytes = directoryBytes(path.join(this.supervisor.paths.dataDir(node)));
        if (bytes > step.max_bytes) fail(`${node}'s data directory holds ${bytes} bytes, over ${step.max_bytes}: is the log compacted after snapshots?`);
        return;
      }
    }
  }

  private async kv(step: Extract<Step, { do: 'kv' }>): Promise<void> {
    const describe = `${step.f} ${step.key}`;
    if (step.node) {
      // Straight to one node, no retries: for "a minority leader must not acknowledge".
      const node = this.node(step.node);
      const body = { type: step.f, key: step.key, value: step.value, from: step.from, to: step.to, client: `grader-${node}`, seq: Date.now() };
      const reply = await this.supervisor.request(fixedClientId('grader_direct_kv'), node, body, step.timeout_ms).catch(() => null);
      const ok = reply !== null && reply.type !== 'error';
      if (step.expect === 'ok' && !ok) fail(`${describe} on ${node} did not succeed within ${step.timeout_ms} ms`);
      if (step.expect === 'not_ok' && ok) fail(`${node} acknowledged ${describe} although it cannot reach a majority`);
      return;
    }
    const result = await this.act({ type: 'kv', op: { f: step.f, key: step.key, value: step.value, from: step.from, to: step.to }, timeout_ms: step.timeout_ms });
    const ok = result.outcome === 'ok';
    if (step.expect === 'ok' && !ok) fail(`${describe} did not succeed: ${String(result.description)}`);
    if (step.expect === 'not_ok' && ok) fail(`${describe} succeeded but should not have`);
    if (step.equals !== undefined && JSON.stringify(result.result) !== JSON.stringify(step.equals)) {
      fail(`${describe} returned ${JSON.stringify(result.result)}, expected ${JSON.stringify(step.equals)}`);
    }
  }

  private async echo(count: number, timeout_ms: number): Promise<void> {
    const nodes = this.status().nodes.map((n) => n.id);
    for (let i = 0; i < count; i++) {
      const node = nodes[i % nodes.length]!;
      const payload = `echo ${i} ${this.rng.int(1e9)}`;
      const reply = await this.supervisor.request(fixedClientId('grader_echo'), node, { type: 'echo', echo: payload }, timeout_ms).catch((error: unknown) => fail(`${node}: ${errorMessage(error)}`));
      if (reply.type !== 'echo_ok') fail(`${node} answered echo with ${reply.type}, expected echo_ok`);
      if (reply.echo !== payload) fail(`${node} echoed ${JSON.stringify(reply.echo)} for ${JSON.stringify(payload)}`);
    }
  }

  private async generate(count: number, concurrency: number, timeout_ms: number): Promise<void> {
    const nodes = this.status().nodes.filter((n) => n.status === 'up').map((n) => n.id);
    const seen = this.generatedIds;
    let next = 0;
    const worker = async (client: number) => {
      while (next < count) {
        next++;
        const node = this.rng.pick(nodes);
        const reply = await this.supervisor.request(rangeClientId('generator', client), node, { type: 'generate' }, timeout_ms).catch((error: unknown) => fail(`${node}: ${errorMessage(error)}`));
        if (reply.type !== 'generate_ok') fail(`${node} answered generate with ${reply.type}, expected generate_ok`);
        const id = JSON.stringify(reply.id);
        if (reply.id === undefined || reply.id === null) fail(`${node}'s generate_ok has no id`);
        const other = seen.get(id);
        if (other) fail(`id ${id} was handed out twice: by ${other} and by ${node}`);
        seen.set(id, node);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  }

  private waitFor(match: (event: ClusterEvent) => boolean, timeout_ms: number, what: string): Promise<void> {
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

  checkHistories(result: TestResult): void {
    if (this.histories.length === 0) fail('the linearizable check needs a load step');
    for (const file of this.histories) {
      if (!existsSync(file)) fail(`no history was written to ${file}`);
      // Times from the test's start, like the rest of the report (the file itself keeps epoch milliseconds).
      const check = checkHistoryFile(file, history_check_timeout_ms, result.started_at_ms);
      if (check.result === 'invalid') {
        const violation = check.violation!;
        const name = path.basename(file);
        result.bad_ops = violation.ops.map((op) => `${name} ${formatOperation(op)}`);
        result.nonlinearizable = { history_file: file, key: violation.key, key_ops: violation.key_ops, ops: violation.ops };
        fail(`the history is not linearizable on key ${violation.key} (${name}; times in ms from the test's start): ${violation.explanation}`);
      }
      if (check.result === 'unknown') fail(`the linearizability check did not finish: ${check.reason ?? 'time budget ran out'}`);
    }
  }
}

function directoryBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}
