import { describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterStatus, NodeStatus } from '../../src/lib/control/api.js';
import { diagnose, Evidence, nodeList, testNeedsStateReports, type FailedAt } from '../../src/lib/grade/diagnose.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { stepVocabulary } from '../../src/lib/grade/steps.js';
import { clusterStatus, nodeStatus } from '../helpers/status.js';
import { custom_system_view, lab_plugins } from '../../src/registry.js';

/** The words these diagnoses were written against: Raft's and Zab's, as a node of no known system is judged. */
const roles = custom_system_view.roles;

/** Every step dslab has: the generic ones and every plugin's. */
const all_steps = stepVocabulary([...lab_plugins.systems.map((s) => ({ owner: s.name, steps: s.steps })), ...lab_plugins.workloads.map((w) => ({ owner: w.name, steps: w.steps }))]);

const help = 'see "State reports" in: npx dslab lab show raft-election';

const node = (id: string, fields: Partial<NodeStatus> = {}): NodeStatus => nodeStatus(id, fields);

function status(nodes: NodeStatus[], traffic = 100): ClusterStatus {
  return clusterStatus(nodes, { dir: '/tmp/x', links: [{ link: 'n1->n2', delivered: traffic, dropped: 0, duplicated: 0 }] });
}

let seq = 0;
const event = (e: Record<string, unknown>) => ({ t: 0, seq: ++seq, ...e }) as ClusterEvent;

function evidenceOf(...events: ClusterEvent[]): Evidence {
  const evidence = new Evidence(roles);
  for (const e of events) evidence.onEvent(e);
  return evidence;
}

const waitLeader: FailedAt = { do: 'wait_leader', within_ms: 10_000 };
const reporting = (term: number, role = 'follower') => ({ state: { role, term }, state_at_ms: 5 });

function run(failed_at: FailedAt, s: ClusterStatus | null, evidence = new Evidence(roles), exits_told: string[] = []) {
  return diagnose({ failed_at, steps: all_steps, exits_told, status: s, evidence, state_reports_help: help });
}

describe('grader diagnosis', () => {
  it('names a node that printed a line that is not JSON, quoting it', () => {
    const evidence = evidenceOf(event({ type: 'node_misbehaved', node: 'n1', problem: 'garbage', detail: 'not JSON: hello', count: 1, data: { kind: 'unreadable', reason: 'not JSON', line: 'hello' } }));
    const cause = run('start', status([node('n1', { status: 'down', msgs_out: 0, garbage_lines: 1 })]), evidence);
    expect(cause).toMatch(/^n1 printed a line that is not JSON: hello \(stdout carries only protocol messages/);
    // It printed something, so "wrote nothing" would be wrong.
    expect(cause).not.toContain('wrote nothing');
  });

  it('groups nodes with the same problem and shortens a long line', () => {
    const long = 'x'.repeat(200);
    const evidence = evidenceOf(
      ...['n1', 'n2', 'n3'].map((n) => event({ type: 'node_misbehaved', node: n, problem: 'garbage', detail: `not a JSON object: ${long}`, count: 3, data: { kind: 'unreadable', reason: 'not a JSON object', line: long } })),
      event({ type: 'node_misbehaved', node: 'n4', problem: 'garbage', detail: 'message claims src "n9" but came from n4: {"src":"n9"}', count: 4, data: { kind: 'wrong_src', claimed: 'n9', line: '{"src":"n9"}' } }),
      // Later lines of the same kind only raise the count: the first one quoted is the one that explains.
      event({ type: 'node_misbehaved', node: 'n4', problem: 'garbage', detail: 'not JSON: later', count: 9, data: { kind: 'unreadable', reason: 'not JSON', line: 'later' } }),
    );
    const cause = run(waitLeader, status([node('n1'), node('n2'), node('n3'), node('n4')]), evidence)!;
    expect(cause).toContain(`n1..n3 printed a line that is not a JSON object: ${'x'.repeat(60)}…`);
    expect(cause).toContain('n4 printed a message with "src": "n9", not its own id');
    expect(cause).not.toContain('later');
  });

  it("reads what went wrong from the event's data, not from the supervisor's words", () => {
    // The words say one thing and the data another: the diagnosis follows the data.
    const evidence = evidenceOf(
      event({ type: 'node_misbehaved', node: 'n1', problem: 'unknown_dest', detail: 'reworded by a later supervisor', count: 1, data: { kind: 'unknown_dest', dest: 'redis1', line: '{"dest":"redis1"}', server: true } }),
      event({ type: 'node_misbehaved', node: 'n2', problem: 'unknown_dest', detail: 'something else entirely', count: 1, data: { kind: 'unknown_extension', extension: 'dslab_hello' } }),
      event({ type: 'node_misbehaved', node: 'n3', problem: 'garbage', detail: 'words', count: 1, data: { kind: 'bad_forward', client: 'c4', dest: 'lin-kv', line: '{"src":"c4"}' } }),
      event({ type: 'node_misbehaved', node: 'n4', problem: 'oversized', detail: 'words', count: 1, data: { kind: 'oversized', chars: 2_000_000, limit_bytes: 1_048_576 } }),
    );
    const cause = run(waitLeader, status([node('n1'), node('n2'), node('n3'), node('n4')]), evidence)!;
    expect(cause).toContain('n1 sent a message to "redis1", a real server that speaks its own protocol over TCP');
    expect(cause).toContain('n2 sent dslab an unknown message type "dslab_hello"');
    expect(cause).toContain('n3 forwarded a request of client c4 to "lin-kv", which is not another node');
    expect(cause).toContain('n4 printed a line of 2000000 characters, over the 1048576-byte limit');
    expect(cause).not.toMatch(/reworded|something else|words/);
  });

  it('says when no node sent a message to another and none sent state reports', () => {
    const cause = run(waitLeader, status(['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => node(id)), 0));
    expect(cause).toBe(`no node sent any message to another node; n1..n5 sent no dslab_state reports, and this test needs them (${help})`);
    // Client and service links (init, requests, lin-kv) are not messages between nodes.
    const nodes = ['n1', 'n2'].map((id) => node(id));
    const clientOnly = clusterStatus(nodes, { links: [{ link: 'c0->n1', delivered: 1, dropped: 0, duplicated: 0 }, { link: 'n1->lin-kv', delivered: 3, dropped: 0, duplicated: 0 }] });
    expect(run(waitLeader, clientOnly)).toMatch(/^no node sent any message to another node/);
  });

  it('names only the nodes that never reported', () => {
    const cause = run(waitLeader, status([node('n1', reporting(0)), node('n2'), node('n4')]));
    expect(cause).toContain(`n2, n4 sent no dslab_state reports, and this test needs them (${help})`);
    expect(cause).toContain('every node that reports stayed at term 0');
  });

  it('says every node stayed at term 0 when no election started', () => {
    const cause = run(waitLeader, status([node('n1', reporting(0)), node('n2', reporting(0)), node('n3', reporting(0))]));
    expect(cause).toBe('every node stayed at term 0: no node started an election (does the election timer fire?)');
    const prevoting = run(waitLeader, status([node('n1', reporting(0, 'pre_candidate')), node('n2', reporting(0)), node('n3', reporting(0))]));
    expect(prevoting).toBe('every node stayed at term 0, though n1 is pre_candidate: no pre-vote won a majority (are pre-votes answered and counted?)');
  });

  it('says elections never finish when terms rise without a leader', () => {
    const cause = run(waitLeader, status([node('n1', reporting(7, 'candidate')), node('n2', reporting(9, 'candidate')), node('n3', reporting(3))]));
    expect(cause).toMatch(/^terms rose to 9 but no node ever reported role "leader"/);
  });

  it('points at a role dslab does not know and at reports without a term', () => {
    expect(run(waitLeader, status([node('n1', reporting(2, 'boss')), node('n2', reporting(2))]))).toMatch(/^n1 reports role "boss", which is not a role dslab knows \(leader, leading, candidate, pre_candidate/);
    expect(run(waitLeader, status([node('n1', { state: { role: 'follower' }, state_at_ms: 1 })]))).toBe(`the dslab_state reports have no "term" field (${help})`);
  });

  it('names the node whose higher term keeps an election from settling', () => {
    const evidence = evidenceOf(event({ type: 'node_state', node: 'n1', state: { role: 'leader', term: 2 } }));
    const cause = run(waitLeader, status([node('n1', reporting(2, 'leader')), node('n2', reporting(5)), node('n3', reporting(2))]), evidence);
    expect(cause).toMatch(/^n1 leads in term 2, but n2 reports term 5/);
  });

  it('explains an init that never came: silence (buffered output) or messages that are not the reply', () => {
    const silent = run('start', status([node('n1', { status: 'starting', msgs_out: 0 }), node('n2', { status: 'up' })]), new Evidence(roles));
    expect(silent).toBe('n1 wrote nothing on stdout (if it prints, flush after every line: output to a pipe is buffered)');
    const wrongReply = run('start', status([node('n1', { status: 'starting', msgs_out: 2 })]), new Evidence(roles));
    expect(wrongReply).toMatch(/^n1 sent 2 messages but none answered init/);
  });

  it('adds an unexpected exit with its stderr line, unless the failure already reports it', () => {
    const evidence = evidenceOf(event({ type: 'node_down', node: 'n2', exit_code: 1, signal: null, stderr_tail: ['Traceback (most recent call last):', '  File "node.py", line 12, in on_vote', "    term = msg['term']", 'KeyError: term'], expected: false }));
    expect(run(waitLeader, status([node('n1', reporting(1)), node('n2', { status: 'down', ...reporting(1) })]), evidence)).toMatch(/^n2 exited unexpectedly \(exit code 1\): .*node\.py.*12.*KeyError: term/);
    // The failure already reports n2's crash (the no_crash check's violation, as data): not said twice.
    expect(run(waitLeader, status([node('n1', reporting(0))]), evidence, ['n2'])).not.toContain('n2 exited');
    // A kill by the grader is expected: not a cause.
    const killed = evidenceOf(event({ type: 'node_down', node: 'n2', exit_code: null, signal: 'SIGKILL', stderr_tail: [], expected: true }));
    expect(killed.exits).toEqual([]);
  });

  it('does not blame missing state reports for steps that do not need them', () => {
    // An echo lab: one node, no reports, a wrong answer. Nothing recorded explains it.
    expect(run({ do: 'echo', count: 5, timeout_ms: 1000 }, status([node('n1')], 0), new Evidence(roles))).toBeNull();
    // A kv write on a cluster that reports nothing and sends nothing between nodes.
    expect(run({ do: 'kv', f: 'write', key: 'ready', value: 0, expect: 'ok', timeout_ms: 10_000 }, status([node('n1'), node('n2'), node('n3')], 0))).toBe('no node sent any message to another node');
    // Killing "leader" needs to know the leader: from reports, or from a write that succeeded.
    expect(run({ do: 'kill', node: 'leader' }, status([node('n1'), node('n2'), node('n3')]))).toBe(`n1..n3 sent no dslab_state reports, and this test needs them (${help})`);
  });

  it('remembers the node that answered the latest successful write, not reads or errors', () => {
    const result = (dest: string, type: string) => event({ type: 'client_result', client: 'c1', dest, request: { type: 'write' }, reply: { type }, call_ms: 0, return_ms: 1 });
    const evidence = evidenceOf(result('n1', 'write_ok'), result('n2', 'read_ok'), result('n3', 'error'), event({ type: 'client_result', client: 'c1', dest: 'n3', request: {}, reply: null, call_ms: 0, return_ms: null }));
    expect(evidence.last_writer).toBe('n1');
    evidence.onEvent(result('n3', 'cas_ok'));
    expect(evidence.last_writer).toBe('n3');
  });

  it('writes node lists compactly', () => {
    expect(nodeList(['n1', 'n2', 'n3', 'n4', 'n5'])).toBe('n1..n5');
    expect(nodeList(['n3', 'n1', 'n2'])).toBe('n1..n3');
    expect(nodeList(['n1', 'n2'])).toBe('n1, n2');
    expect(nodeList(['n1', 'n3', 'n4'])).toBe('n1, n3, n4');
  });

  it('knows which shipped tests need state reports: every Raft test, and none of kv-linearizable or the warm-ups', () => {
    for (const id of ['raft-election', 'raft-replication', 'raft-persistence', 'raft-snapshots']) {
      const lab = loadLab(id, lab_plugins);
      for (const test of lab.tests) expect(testNeedsStateReports(lab.steps, test), `${id}/${test.name}`).toBe(true);
    }
    for (const id of ['echo', 'unique-ids', 'kv-linearizable']) {
      const lab = loadLab(id, lab_plugins);
      for (const test of lab.tests) expect(testNeedsStateReports(lab.steps, test), `${id}/${test.name}`).toBe(false);
    }
  });
});
