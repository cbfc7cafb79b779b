import { execa } from 'execa';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, controlStatus, dslab, dslabJson, dslabSpawn, fixture_node, isAlive, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

const garbage_node = path.join(repo_root, 'test', 'fixtures', 'garbage-then-exit.mjs');

/** What one test started: its workdir and the processes its cleanup kills beside the clusters there. */
interface Started {
  cwd: string;
  extraPids: number[];
}

/**
 * A block whose tests run one after another, each in a workdir of its own that is cleaned up after it; the blocks
 * run at once (the long first test beside the others, which mostly wait for timeouts and exits).
 */
function lane(name: string, define: (started: Started) => void): void {
  describe.concurrent(name, () => {
    const started: Started = { cwd: '', extraPids: [] };
    afterEach(async () => {
      if (started.cwd) await cleanup(started.cwd, started.extraPids.splice(0));
      started.cwd = '';
    });
    define(started);
  });
}

lane('misbehaving nodes', (started) => {
  it.sequential('counts garbage, oversized lines and unknown destinations, reports a crash, and keeps going', async () => {
    const cwd = (started.cwd = makeWorkdir());
    const up = await dslab(cwd, 'up', 'student', '--bin', `node ${fixture_node}`, '--nodes', '3', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    const reply = await dslabJson<{ type: string }>(cwd, 'send', 'n2', '{"type":"misbehave"}');
    expect(reply.type).toBe('misbehave_ok');
    const status = await waitFor('the problems to be counted', async () => {
      const s = await controlStatus(cwd);
      const n2 = s.nodes.find((n) => n.id === 'n2')!;
      return n2.garbage_lines >= 2 && n2.oversized_lines === 1 && n2.unknown_dest === 1 ? s : undefined;
    });
    expect(status.nodes.find((n) => n.id === 'n1')!.garbage_lines).toBe(0);
    const text = await dslab(cwd, 'status');
    expect(text.stdout).toMatch(/n2 .*2 garbage, 1 oversized, 1 unknown-dest/);
    const log = await dslab(cwd, 'logs', 'n2');
    expect(log.stdout).toContain('garbage');

    const crash = await dslab(cwd, 'send', 'n3', '{"type":"crash"}', '--timeout', '3s');
    expect(crash.exitCode).toBe(1);
    expect(crash.stderr).toMatch(/^dslab: n3 exited \(exit code 3\)/);
    const after = await controlStatus(cwd);
    const n3 = after.nodes.find((n) => n.id === 'n3')!;
    expect(n3).toMatchObject({ status: 'down', exit_code: 3 });
    expect(n3.stderr_tail.at(-1)).toBe('crashing on purpose');
    // "crashing on purpose" names no error: it is quoted as the last line, not as the cause.
    expect((await dslab(cwd, 'status')).stdout).toContain('n3 crashed (exit code 3); the last line on its stderr: crashing on purpose');
    // A node dslab killed did not crash, though it wrote to stderr ("booted n2 …").
    expect((await dslab(cwd, 'kill', 'n2')).exitCode).toBe(0);
    const killed = (await dslab(cwd, 'status')).stdout;
    expect(killed).toContain('n2 killed by dslab kill (SIGKILL)');
    expect(killed).not.toContain('n2 crashed');
    expect((await dslab(cwd, 'restart', 'n2')).exitCode).toBe(0);
    // The supervisor and the other nodes keep going.
    expect((await dslabJson<{ type: string }>(cwd, 'send', 'n1', '{"type":"echo","echo":2}')).type).toBe('echo_ok');

    // Restart keeps the same data directory: the node finds its first boot recorded there.
    expect((await dslab(cwd, 'restart', 'n3')).exitCode).toBe(0);
    const bootsOf = () => readFileSync(path.join(cwd, '.dslab', 'student', 'data', 'n3', 'boots.log'), 'utf8').trim().split('\n');
    expect(bootsOf()).toHaveLength(2);

    // A new run starts with empty data directories unless --keep-data.
    expect((await dslab(cwd, 'down')).exitCode).toBe(0);
    const again = ['up', 'student', '--bin', `node ${fixture_node}`, '--nodes', '3', '--detach'];
    expect((await dslab(cwd, ...again, '--keep-data')).exitCode).toBe(0);
    expect(bootsOf()).toHaveLength(3);
    expect((await dslab(cwd, 'down')).exitCode).toBe(0);
    expect((await dslab(cwd, ...again)).exitCode).toBe(0);
    expect(bootsOf()).toHaveLength(1);
  });

});

lane('orphans, failed starts and the foreground supervisor', (started) => {
  it.sequential('names the node that does not answer init, and leaves nothing running', async () => {
    const cwd = (started.cwd = makeWorkdir());
    // A command line no other process on the machine has, so that pgrep finds only these nodes.
    const silent = `sleep 60.${process.pid}`;
    const up = await dslab(cwd, 'up', 'mute', '--bin', silent, '--nodes', '2', '--detach', '--init-timeout', '1s');
    expect(up.exitCode).toBe(1);
    expect(up.stderr.trim()).toMatch(/^dslab: n\d did not answer init within 1s/);
    expect(up.stderr.trim().split('\n')).toHaveLength(1);
    expect((await dslab(cwd, 'status')).stderr).toMatch(/no running cluster/);
    await waitFor('the silent nodes to be gone', async () => (await execa('pgrep', ['-f', `^${silent.replace('.', '\\.')}$`], { reject: false })).exitCode === 1);
  });

  it.sequential('keeps a failed start as a stopped cluster that logs, status and down --clean work on', async () => {
    const cwd = (started.cwd = makeWorkdir());
    const up = await dslab(cwd, 'up', 'bad', '--bin', `node ${garbage_node}`, '--nodes', '2', '--detach');
    expect(up.exitCode).toBe(1);
    // The line that is not JSON fails the start at once, before the node exits; its stderr still says why.
    const failure = /^dslab: (n\d) printed a line that is not JSON instead of answering init: this is not json \(stdout carries only protocol messages, one JSON object per line; write logs to stderr\); its stderr says: giving up before init \(logs: dslab logs (n\d) --cluster bad\)$/.exec(up.stderr.trim());
    expect(failure, up.stderr).not.toBeNull();
    const node = failure![1]!;
    expect(failure![2]).toBe(node);
    const dir = path.join(cwd, '.dslab', 'bad');
    for (const folder of [path.join(cwd, '.dslab'), dir, path.join(dir, 'data'), path.join(dir, 'data', node), path.join(dir, 'logs')]) {
      expect(statSync(folder).mode & 0o777, folder).toBe(0o700);
    }

    const log = await dslab(cwd, 'logs', node, '--cluster', 'bad');
    expect(log.exitCode, log.stderr).toBe(0);
    expect(log.stdout).toContain('garbage (1 so far): not JSON: this is not json');
    expect(log.stdout).toContain('giving up before init');
    const supervisorLog = await dslab(cwd, 'logs', 'supervisor', '--cluster', 'bad');
    expect(supervisorLog.exitCode, supervisorLog.stderr).toBe(0);
    expect(supervisorLog.stdout).toMatch(/Z starting cluster bad: system bad, nodes n1,n2, seed \d+, node command: node \S+garbage-then-exit\.mjs/);
    expect(supervisorLog.stdout).toContain(`failed to start: ${node} printed a line that is not JSON instead of answering init: this is not json`);

    const status = await dslab(cwd, 'status', '--cluster', 'bad');
    expect(status.exitCode).toBe(1);
    expect(status.stderr.trim()).toMatch(new RegExp(`^dslab: cluster "bad" is not running: it failed to start: ${node} printed a line that is not JSON .* \\(the cause is in \\S+/logs/${node}\\.log: dslab logs ${node} --cluster bad;`));
    expect(status.stderr.trim().split('\n')).toHaveLength(1);
    const down = await dslab(cwd, 'down', '--cluster', 'bad', '--clean');
    expect(down.exitCode, down.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it.sequential('leaves no node behind when the supervisor is SIGKILLed, even a paused one', async () => {
    const cwd = (started.cwd = makeWorkdir());
    expect((await dslab(cwd, 'up', 'echo', '--nodes', '3', '--detach')).exitCode).toBe(0);
    const status = await controlStatus(cwd);
    const pids = status.nodes.map((n) => n.pid!);
    started.extraPids.push(...pids);
    expect((await dslab(cwd, 'pause', 'n2')).exitCode).toBe(0);
    process.kill(status.supervisor_pid, 'SIGKILL');
    await waitFor('every node process to exit', () => pids.every((pid) => !isAlive(pid)));
    const after = await dslab(cwd, 'status');
    expect(after.exitCode).toBe(1);
    expect(after.stderr).toMatch(/no running cluster/);
  });

  it.sequential('runs in the foreground, printing events, until Ctrl-C', async () => {
    const cwd = (started.cwd = makeWorkdir());
    const foreground = dslabSpawn(cwd, 'up', 'echo', '--nodes', '3');
    started.extraPids.push(foreground.pid!);
    let output = '';
    foreground.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('the cluster_up line', () => output.includes('cluster echo up'));
    expect(output).toMatch(/n1 up \(pid \d+\)/);
    const status = await controlStatus(cwd);
    expect(status.supervisor_pid).toBe(foreground.pid);
    await dslab(cwd, 'kill', 'n2');
    await waitFor('the kill to be printed', () => output.includes('killed n2') && output.includes('n2 down (signal SIGKILL)'));
    foreground.kill('SIGINT');
    const result = await foreground;
    expect(result.exitCode).toBe(0);
    expect(output).toContain('cluster echo down');
    expect(status.nodes.every((n) => n.pid === null || !isAlive(n.pid))).toBe(true);
  });
});
