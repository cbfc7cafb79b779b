import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRunningCluster } from '../../src/lib/cluster/paths.js';
import { stopCluster } from '../../src/lib/cluster/stop.js';
import type { ControlAction } from '../../src/lib/control/api.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { splitShellWords } from '../../src/lib/util/shell-words.js';
import { cleanup, controlStatus, dslab, dslabSpawn, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * Every `--help` example (the `static examples` of src/commands/**) runs
 * against a live cluster of the system it is written for and must not fail.
 * The examples are grouped by system, one cluster per group, in an order in
 * which each one makes sense (`zk rm` removes the name `zk create --sequential`
 * printed). A new example fails the first test until it is placed in a
 * scenario or listed as an exception with its reason.
 *
 * For time: examples that cannot disturb each other (reads, streams, fault
 * settings that each replace the last) run `together`, and the scenarios,
 * each in its own folder with its own cluster, run at the same time
 * (vitest's maxConcurrency bounds how many). They are listed longest first,
 * so that none is left to run alone at the end. What is no example (putting a
 * cluster back, a trigger, stopping a cluster before its folder is read) is
 * done from this process through the control API, not by a CLI process (half
 * a second of CPU each, and the scenarios share two cores).
 */

/** One step of a scenario. */
type Step =
  | string // an example, run to its end: exit code 0
  | { example: string; stdout: RegExp } // an example whose output is part of its story
  | { stream: string; trigger?: string | ControlAction; until?: RegExp; armed?: true } // an example that follows until Ctrl-C: it must print a line (or what `until` matches), then is interrupted; `trigger` (a command, or a control action sent from this process) makes something happen meanwhile (once the command printed its first line, when `armed`: a trigger that works only once must not come before the command follows)
  | { setup: string } // not an example: starts the cluster the next examples need (exit code not judged)
  | { act: ControlAction } // not an example: puts the cluster back where the next example needs it, from this process (its outcome not judged)
  | 'stop-cluster' // not an example: stops the cluster, from this process, as dslab down does
  | { together: Step[] } // steps that cannot disturb each other, run at once
  | 'wait-for-leader';

interface Scenario {
  system: string;
  steps: Step[];
}

const scenarios: Scenario[] = [
  // Raft's examples in three parts (faults; keys, leadership and streams; load and nemesis), each on a cluster
  // of its own, so that they run at once rather than as one long story.
  {
    system: 'raft (faults)',
    steps: [
      { setup: 'dslab up raft --nodes 5 --detach' },
      'wait-for-leader',
      // each sets a fault its own way; together they still each succeed
      {
        together: [
          'dslab delay --ms 100 --jitter 50',
          'dslab delay --ms 500 --link n1-n2',
          'dslab delay --ms 0',
          'dslab loss 20%',
          'dslab loss 5% --link n1-n2',
          'dslab duplicate 5%',
          'dslab duplicate 50% --link n2-n3',
          'dslab reorder 10%',
        ],
      },
      'dslab heal',
      // each cuts links its own way; together they still each succeed
      { together: ['dslab partition', 'dslab partition n1 n2,n3', 'dslab partition n1,n2', 'dslab partition --isolate n1', 'dslab partition --isolate c3'] },
      { act: { type: 'heal' } },
      'wait-for-leader',
      'dslab partition --isolate leader',
      { act: { type: 'heal' } },
      { together: ['dslab skew n2 +500ms', 'dslab skew n1 -2s'] },
      'dslab skew n2 0',
      'wait-for-leader',
      'dslab pause n2',
      'dslab pause leader',
      'dslab resume n2',
      { act: { type: 'resume', node: 'nodes' } },
      'dslab kill n3',
      'dslab restart n3',
      'wait-for-leader',
      'dslab kill leader',
      'dslab kill random',
      { act: { type: 'restart', node: 'nodes' } },
      'wait-for-leader',
      'stop-cluster',
    ],
  },
  {
    system: 'raft',
    steps: [
      'dslab up raft --nodes 5 --detach',
      'wait-for-leader',
      { together: ['dslab status', 'dslab status --cluster raft --json'] },
      { together: ['dslab kv put x 5', 'dslab kv put name alice'] },
      { together: ['dslab kv cas x 5 6', 'dslab kv cas y 0 1 --create'] },
      { example: 'dslab kv get x', stdout: /^x = 6$/m },
      { example: `dslab send lin-kv '{"type":"write","key":"x","value":1}' --timeout 2s`, stdout: /"type":"write_ok"/ },
      'dslab kv del x',
      { act: { type: 'transfer', node: 'n1' } }, // n3 must not lead already (n1 leading is refused here, which is as good)
      'wait-for-leader',
      'dslab transfer n3',
      'wait-for-leader',
      'dslab transfer n2 --timeout 10s',
      'wait-for-leader',
      {
        together: [
          'dslab logs n3',
          'dslab logs supervisor --lines 100',
          { stream: 'dslab logs n3 -f' },
          { stream: 'dslab events', trigger: { type: 'heal' } },
          { stream: 'dslab events --history --json' },
          { stream: 'dslab events --type fault,node_down', trigger: { type: 'heal' } },
          { stream: 'dslab events --json --exclude rates,client_result', trigger: { type: 'heal' } },
          { stream: 'dslab watch' },
          { stream: 'dslab watch --cluster raft' },
          { stream: 'dslab watch --no-ui' },
          { stream: 'dslab watch --no-ui --exclude node_state', trigger: { type: 'heal' } },
        ],
      },
      'dslab down --cluster raft --clean',
    ],
  },
  {
    system: 'zab',
    steps: [
      { setup: 'dslab up zab --nodes 3 --detach' },
      'wait-for-leader',
      'dslab zk create /app config-v1',
      { example: 'dslab zk create /app/job- --sequential', stdout: /^created \/app\/job-0000000000$/m },
      // job-0000000000's number counted /app's earlier children, so the lock comes after it; it is no sequential node, so beside the rm
      { together: ['dslab zk rm /app/job-0000000000', 'dslab zk create /app/lock --ephemeral --session me'] },
      { together: [{ example: 'dslab zk get /app', stdout: /^config-v1$/m }, 'dslab zk ls /', { example: 'dslab zk ls /app', stdout: /^lock$/m }] },
      // reads and syncs, whatever version /app is at; session me is still open
      { together: ['dslab zk set /app config-v2', 'dslab zk stat /app', 'dslab zk sync', 'dslab zk sync /app --session me', 'dslab zk sessions'] },
      // closing me removes /app/lock, so that /app can be removed next
      { together: ['dslab zk set /app config-v3 --version 1', 'dslab zk session close me'] },
      'dslab zk rm /app --version 2',
      // zk watch prints what the znode is once its watch is set: only then can the create be seen.
      { stream: 'dslab zk watch /app', trigger: 'dslab zk create /app again', until: /^NodeCreated \/app \(zxid \d+:\d+\)$/m, armed: true },
      { stream: 'dslab zk watch /app --children', trigger: 'dslab zk create /app/child- --sequential', until: /^NodeChildrenChanged \/app \(zxid \d+:\d+\)$/m, armed: true },
      'dslab zk load --clients 5 --rate 100 --duration 2s --history zk.jsonl',
      'dslab zk load --duration 1m --detach',
      'dslab zk load --stop',
      'dslab down',
    ],
  },
  {
    system: 'locks',
    steps: [
      // Each contender holds the lock 10 ms, not the 50 ms default, so that the runs' 210 sections (one at a time) end sooner.
      { setup: 'dslab up locks --hold 10ms --detach' },
      { together: ['dslab lock status', 'dslab lock status --json'] },
      'dslab lock run --rounds 20',
      'dslab lock run --rounds 50 --history run.json',
      'dslab lock check',
      'dslab lock check --history run.json --json',
      'dslab lock run --rounds 500 --no-wait',
      'dslab down',
    ],
  },
  {
    system: 'raft (load and nemesis)',
    steps: [
      { setup: 'dslab up raft --nodes 5 --detach' },
      'wait-for-leader',
      'dslab load --clients 10 --rate 200 --duration 2s --history run.jsonl',
      { together: [{ example: 'dslab check run.jsonl', stdout: /^valid: linearizable/ }, 'dslab check run.jsonl --timeout 5m --json'] },
      'dslab load --duration 5m --keys 5 --detach',
      'dslab load --stop',
      'dslab nemesis --interval 1s --duration 3s --seed 7',
      'dslab nemesis --duration 5m --detach',
      'dslab nemesis --stop',
      'stop-cluster',
    ],
  },
  {
    system: 'none (no cluster)',
    steps: [
      { example: 'dslab help', stdout: /\bup\b/ },
      { example: 'dslab help up', stdout: /dslab up SYSTEM/ },
      { example: 'dslab help kv get', stdout: /dslab kv get/ },
      { example: 'dslab ls', stdout: /^no clusters in / },
      { example: 'dslab grade --clean', stdout: /^no kept grade folders in / },
      'dslab lab list',
      'dslab lab show raft-election',
      'dslab lab init raft-election --lang python ./my-raft',
      'dslab lab init echo --lang ts ./my-echo',
      { example: 'dslab id decode 1103287567727460352', stdout: /^time\s+2026-/m },
      { example: 'dslab id decode 442189565449470464 --layout sonyflake', stdout: /^time\s+2026-/m },
    ],
  },
  {
    system: 'breaker',
    steps: [
      { setup: 'dslab up breaker --detach' },
      { example: 'dslab breaker load --rate 100 --duration 3s', stdout: /^300 requests sent in /m },
      // each sets d1's whole failure mode, replacing the last: together they still each succeed; --errors 0% then heals d1
      { together: ['dslab fail d1 --errors 50%', 'dslab fail d1 --latency 800ms', 'dslab fail d1 --hang'] },
      'dslab fail d1 --errors 0%',
      'dslab breaker load --rate 200 --duration 2s --bad 5% --services s1,s2',
      { example: 'dslab breaker check', stdout: /^breaker check: ok, no violation$/m },
      'stop-cluster',
      // The stopped cluster's folder, judged again.
      { example: 'dslab breaker check --dir .dslab/breaker --json', stdout: /"ok": true/ },
    ],
  },
  {
    system: 'snowflake',
    steps: [
      { setup: 'dslab up snowflake --detach' },
      { together: ['dslab id generate', 'dslab id generate --count 5 --worker w2'] },
      'dslab id load --clients 4 --rate 200 --duration 2s --history ids.jsonl',
      'dslab id check ids.jsonl',
      'dslab down',
    ],
  },
  {
    system: 'echo',
    steps: [
      { setup: 'dslab up echo --nodes 3 --detach' },
      { together: [{ example: `dslab send n1 '{"type":"echo","echo":"hello"}'`, stdout: /"echo":"hello"/ }, { example: 'dslab ls --json', stdout: /"system": "echo"/ }] },
      'dslab down',
    ],
  },
  {
    system: 'broadcast',
    steps: [
      { setup: 'dslab up broadcast --nodes 3 --detach' },
      { example: 'dslab broadcast topology', stdout: /^n1: / },
      { together: ['dslab broadcast send 17', 'dslab broadcast send 18 --node n3'] },
      // n1 was sent 17 itself; 18 reaches it by gossip, eventually
      { together: [{ example: 'dslab broadcast read', stdout: /^n1 holds .*\b17\b/m }, 'dslab broadcast read --node n2'] },
      'dslab down',
    ],
  },
  {
    system: 'g-set',
    steps: [
      { setup: 'dslab up g-set --nodes 3 --detach' },
      { together: ['dslab set add 5', 'dslab set add 6 --node n2'] },
      { together: [{ example: 'dslab set read', stdout: /^n1 holds .*\b5\b/m }, 'dslab set read --node n3'] },
      'stop-cluster',
    ],
  },
  {
    system: 'pn-counter', // `counter add -4` needs a counter that can go down; g-counter refuses it
    steps: [
      { setup: 'dslab up pn-counter --nodes 3 --detach' },
      { together: ['dslab counter add 5', 'dslab counter add 2 --node n3', 'dslab counter add -4'] },
      // n1 took 5 and -4 itself; n3's 2 reaches it eventually
      { together: [{ example: 'dslab counter read', stdout: /^n1 reads (1|3)$/m }, 'dslab counter read --node n2'] },
      'stop-cluster',
    ],
  },
];

/** Examples not run here, each with the reason. */
const exceptions: Record<string, string> = {
  'dslab up echo --nodes 3': 'runs in the foreground until Ctrl-C; the echo scenario starts the same cluster with --detach',
  'dslab up raft --nodes 5 --election-timeout 150-300ms --heartbeat 50ms --read lease': 'runs in the foreground until Ctrl-C (the dashboard); its flags are checked by test/unit/cli-help.test.ts',
  'dslab up raft --bin "python3 my-raft/node.py" --nodes 5 --name mine': "needs a student's finished Raft in my-raft/",
};
/** Commands whose examples, but those a scenario places, are not run here, with the reason. */
const command_exceptions: Record<string, string> = {
  test: "runs a student's binary (./node.py and the like) for its time limit; test/integration/maelstrom-test.test.ts runs the same command lines against reference nodes",
  'breaker scenario': 'runs two breaker clusters of its own one after the other for about 40 s; test/integration/breaker-scenario.test.ts runs the same command',
  grade: "starts clusters of its own and runs a lab's tests for minutes, mostly on a student's code; test/labs/ grades the references and planted bugs (only `grade --clean` runs here)",
};
const isException = (example: string): boolean => example in exceptions || Object.keys(command_exceptions).some((command) => example.startsWith(`dslab ${command} `));

function stepExamples(step: Step): string[] {
  if (typeof step === 'string') return step === 'wait-for-leader' || step === 'stop-cluster' ? [] : [step];
  if ('together' in step) return step.together.flatMap(stepExamples);
  if ('example' in step) return [step.example];
  if ('stream' in step) return [step.stream];
  return [];
}

/** Every example of every command, as `dslab …`, from the built manifest (what `--help` prints). */
function helpExamples(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(repo_root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { examples?: (string | { command: string })[] }> };
  return Object.values(manifest.commands).flatMap((command) => (command.examples ?? []).map((example) => (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'dslab')));
}

const words = (line: string): string[] => splitShellWords(line).slice(1); // drop "dslab"

describe('--help examples', () => {
  it('each is run by a scenario below or listed as an exception, and nothing else is', () => {
    const placed = scenarios.flatMap((s) => s.steps.flatMap(stepExamples));
    const examples = helpExamples();
    expect(examples.filter((e) => !placed.includes(e) && !isException(e)), 'examples no scenario runs').toEqual([]);
    expect(placed.filter((e) => !examples.includes(e)), 'scenario steps that are no --help example').toEqual([]);
    expect(Object.keys(exceptions).filter((e) => !examples.includes(e)), 'exceptions that are no --help example').toEqual([]);
  });

  const workdirs: string[] = [];
  afterAll(async () => {
    for (const cwd of workdirs) await cleanup(cwd);
  });

  for (const scenario of scenarios) {
    it.concurrent(`run against ${scenario.system}`, { timeout: 300_000 }, async () => {
      const cwd = makeWorkdir();
      workdirs.push(cwd);
      for (const step of scenario.steps) await runStep(cwd, step);
    });
  }
});

/** Sends one control action to the cluster running in `cwd`, from this process. */
async function act(cwd: string, action: ControlAction): Promise<void> {
  const client = new ControlClient(findRunningCluster(path.join(cwd, '.dslab')));
  try {
    await client.act(action);
  } finally {
    client.close();
  }
}

async function runStep(cwd: string, step: Step): Promise<void> {
  if (step === 'wait-for-leader') {
    await waitFor('a leader', async () => (await controlStatus(cwd)).leader !== null, 30_000);
  } else if (typeof step === 'object' && 'together' in step) {
    await Promise.all(step.together.map((inner) => runStep(cwd, inner)));
  } else if (step === 'stop-cluster') {
    await stopCluster(findRunningCluster(path.join(cwd, '.dslab')));
  } else if (typeof step === 'object' && 'setup' in step) {
    await dslab(cwd, ...words(step.setup));
  } else if (typeof step === 'object' && 'act' in step) {
    await act(cwd, step.act).catch(() => undefined);
  } else if (typeof step === 'object' && 'stream' in step) {
    await runStreaming(cwd, step.stream, step.trigger, step.until, step.armed);
  } else {
    const example = typeof step === 'string' ? step : step.example;
    const result = await dslab(cwd, ...words(example));
    expect(result.exitCode, `${example} failed:\n${result.stderr}${result.stdout}`).toBe(0);
    if (typeof step === 'object') expect(result.stdout, example).toMatch(step.stdout);
  }
}

/** Starts a command that follows until Ctrl-C, waits until it prints a line or what `until` matches (triggering something meanwhile), then interrupts it. */
async function runStreaming(cwd: string, example: string, trigger: string | undefined, until: RegExp = /\n/, armed = false): Promise<void> {
  const child = dslabSpawn(cwd, ...words(example));
  let printed = '';
  let exited = false;
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  void child.then(() => (exited = true));
  // The first trigger may come before the command is following; the next ones, a second apart, do not.
  let next_trigger_ms = Date.now() + 500;
  const outcome = await waitFor(
    `${example} to print ${until}`,
    async () => {
      if (until.test(printed)) return 'printed';
      if (exited) return 'exited';
      if (trigger && Date.now() >= next_trigger_ms && (!armed || printed.includes('\n'))) {
        next_trigger_ms = Date.now() + 1_000;
        if (typeof trigger === 'string') await dslab(cwd, ...words(trigger));
        else await act(cwd, trigger);
      }
      return false;
    },
    30_000,
  ).finally(() => child.kill('SIGINT'));
  const result = await child;
  expect(outcome, `${example} exited with ${result.exitCode} before printing: ${String(result.stderr)}`).toBe('printed');
  expect(String(result.stderr), `${example} wrote an error`).not.toMatch(/^dslab: /m);
}
