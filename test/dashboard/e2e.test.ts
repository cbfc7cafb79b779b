import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findRunningCluster } from '../../src/lib/cluster/paths.js';
import type { ClusterEvent } from '../../src/lib/control/api.js';
import { ControlClient } from '../../src/lib/control/client.js';
import { cleanup, cli_path, dslab, dslabJson, makeWorkdir, repo_root, waitFor } from '../helpers/cli.js';

/**
 * The dashboard in a real pseudo-terminal: tmux (Debian's package) runs
 * `dslab up raft --nodes 5` (or a locks cluster, or `dslab watch`) in a
 * detached 100x30 window; the test reads the screen with capture-pane, types
 * with send-keys and resizes the window. Only what needs a real terminal is
 * here: the view's parts are tested with fixed state in the other files.
 */

const tmux_binary = '/usr/bin/tmux';
/** A private tmux server per test run, so a user's own tmux sessions are never touched. */
/** tmux leaves its socket file behind when its server exits: it lives in the temp folder and is removed after the file's tests. */
const tmux_socket = path.join(tmpdir(), `dslab-dashboard-e2e-${process.pid}.sock`);
const terminal_columns = 100;
const terminal_rows = 30;
/** The width the first test narrows its window to. */
const narrow_columns = 72;
/** After the redraw at the new width, a little longer for any late write to land (the check is that none does). */
const settle_ms = 1000;
/** Elections on a loaded 2-core machine can take a few rounds. */
const leader_wait_ms = 30_000;
/** `dslab test --watch`'s time limit, in seconds. */
const watched_test_limit_s = 8;
/** How long the raw and the merged event streams are compared. */
const stream_sample_ms = 2000;

const tmux = (...args: string[]) => execa(tmux_binary, ['-S', tmux_socket, ...args], { reject: false });
const screen = async (session = 'dash') => String((await tmux('capture-pane', '-p', '-t', session)).stdout);
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

function leaderOnScreen(text: string): { id: string; term: number } | undefined {
  const match = /leader (n\d+) · term (\d+)/.exec(text);
  return match ? { id: match[1]!, term: Number(match[2]) } : undefined;
}

/** Node ids in table order, read from the rows ("  n1   up ..." or "> n1   up ..."). */
function tableRows(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^(?:> | {2})(n\d+)\s+(?:up|down|paused|starting)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

/**
 * Runs `dslab watch` in a new tmux session under a shell that, once watch
 * exits, prints its exit code and the terminal's settings and stays open, so
 * the test can see whether the dashboard gave the terminal back.
 */
async function startWatch(cwd: string, session: string): Promise<void> {
  const watch = `cd ${shellQuote(cwd)} && env -u CI -u FORCE_COLOR NO_COLOR=1 DSLAB_HOME= TERM=xterm-256color ${shellQuote(process.execPath)} ${shellQuote(cli_path)} watch`;
  const command = `${watch}; echo "watch exited with $?"; stty -a; exec sleep 600`;
  const started = await tmux('new-session', '-d', '-s', session, '-x', String(terminal_columns), '-y', String(terminal_rows), command);
  expect(started.exitCode, String(started.stderr)).toBe(0);
}

/** Waits for the watch in `session` to exit, then reads what the shell printed and whether tmux shows the cursor. */
async function watchEnding(session: string) {
  const text = await waitFor(`dslab watch in ${session} to exit`, async () => {
    const shown = await screen(session);
    return /watch exited with \d+/.test(shown) && /\bspeed\b/.test(shown) ? shown : undefined;
  });
  const cursor = String((await tmux('display-message', '-p', '-t', session, '#{cursor_flag}')).stdout).trim();
  return {
    exit_code: Number(/watch exited with (\d+)/.exec(text)![1]),
    // Ink puts the terminal in raw mode for its keys; a terminal given back has line editing and echo again.
    line_editing: /(?<![-\w])icanon\b/.test(text),
    echo: /(?<![-\w])echo\b/.test(text),
    cursor_visible: cursor === '1',
  };
}

/**
 * A folder for one test; when the test ends, whatever it started there is stopped (the pane's shell too, once
 * `pane_pid` is set) and its tmux sessions are closed. Per test, not per file: the first two tests run at once.
 */
function testWorkdir(onTestFinished: TestContext['onTestFinished'], ...sessions: string[]): { cwd: string; pane_pid: number } {
  const owned = { cwd: makeWorkdir(), pane_pid: 0 };
  onTestFinished(async () => {
    await cleanup(owned.cwd, owned.pane_pid ? [owned.pane_pid] : []);
    for (const session of sessions) await tmux('kill-session', '-t', session);
  });
  return owned;
}

describe('dashboard in a real terminal', () => {
  // One server for the file, started before the tests that run at once, so that they do not both start it.
  beforeAll(async () => {
    const started = await tmux('new-session', '-d', '-s', 'server', 'exec sleep 600');
    expect(started.exitCode, String(started.stderr)).toBe(0);
  });
  afterAll(async () => {
    await tmux('kill-server');
    rmSync(tmux_socket, { force: true });
  });

  // The two dashboards that own their cluster run at once: each waits on its own cluster's events, in its own session and folder.
  describe.concurrent('started by dslab up', () => {
    it('shows a leader; k on its row kills it; a new leader with a higher term appears; a narrower terminal leaves no old pieces; q leaves one line', async ({ onTestFinished }) => {
      const owned = testWorkdir(onTestFinished, 'dash');
      const { cwd } = owned;
      // The shell stays after `up` exits, so the test can read what the dashboard left on the screen.
      const up = `cd ${shellQuote(cwd)} && env -u CI -u FORCE_COLOR NO_COLOR=1 DSLAB_HOME= TERM=xterm-256color ${shellQuote(process.execPath)} ${shellQuote(cli_path)} up raft --nodes 5`;
      const command = `${up}; echo "up exited with $?"; exec sleep 600`;
      const started = await tmux('new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', 'dash', '-x', String(terminal_columns), '-y', String(terminal_rows), command);
      expect(started.exitCode, String(started.stderr)).toBe(0);
      owned.pane_pid = Number(String(started.stdout).trim());

      const first = await waitFor('a leader on the dashboard', async () => leaderOnScreen(await screen()), leader_wait_ms);
      const rows = tableRows(await screen());
      expect(rows).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      for (let i = 0; i < rows.indexOf(first.id); i++) await tmux('send-keys', '-t', 'dash', 'j');
      await waitFor(`${first.id}'s row selected`, async () => (await screen()).includes(`> ${first.id} `));
      await tmux('send-keys', '-t', 'dash', 'k');

      const second = await waitFor(
        'a new leader with a higher term',
        async () => {
          const leader = leaderOnScreen(await screen());
          return leader && leader.id !== first.id && leader.term > first.term ? leader : undefined;
        },
        leader_wait_ms,
      );
      const after = await screen();
      expect(after).toContain(`killed ${first.id} (leader)`);
      expect(after).toMatch(new RegExp(`${first.id}\\s+down KILL`));
      expect(second.term).toBeGreaterThan(first.term);

      // A narrower terminal rewraps the old frame's lines: the dashboard clears the screen and draws once, at the new width.
      await tmux('resize-window', '-t', 'dash', '-x', String(narrow_columns), '-y', String(terminal_rows));
      const narrowed = await waitFor('the dashboard redrawn at the new width', async () => {
        const shown = await screen();
        return shown.split('\n').some((line) => /^ {2}NODE\s+STATUS/.test(line)) && /cluster raft · raft · up/.test(shown) ? shown : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, settle_ms));
      const lines = (await screen()).split('\n');
      expect(lines.filter((line) => line.includes('cluster raft · raft')), narrowed).toHaveLength(1);
      expect(lines.filter((line) => line.startsWith('faults: ')), narrowed).toHaveLength(1);
      expect(lines.filter((line) => /^ {2}NODE\s+STATUS/.test(line)), narrowed).toHaveLength(1);
      expect(lines.filter((line) => line.includes('↑↓j:select')), narrowed).toHaveLength(1);

      // q asks before stopping the cluster it started; y stops it, the last frame gives way to one line, and the terminal is back.
      await tmux('send-keys', '-t', 'dash', 'q');
      await waitFor('the question', async () => (await screen()).includes('stop the cluster and quit?'));
      await tmux('send-keys', '-t', 'dash', 'y');
      const ended = await waitFor('dslab up to exit', async () => {
        const shown = await screen();
        return /up exited with \d+/.test(shown) ? shown : undefined;
      });
      expect(ended).toMatch(/^cluster raft stopped\nup exited with 0$/m);
      expect(ended).not.toMatch(/NODE\s+STATUS|↑↓j:select|stop the cluster and quit\?/);
    });

    it("a locks cluster's dashboard shows r1's verdict so far; q stops it and prints the lock check as dslab down does", async ({ onTestFinished }) => {
      const owned = testWorkdir(onTestFinished, 'locks');
      const { cwd } = owned;
      const up = `cd ${shellQuote(cwd)} && env -u CI -u FORCE_COLOR NO_COLOR=1 DSLAB_HOME= TERM=xterm-256color ${shellQuote(process.execPath)} ${shellQuote(cli_path)} up locks --contenders 2 --hold 10ms`;
      const started = await tmux('new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', 'locks', '-x', String(terminal_columns), '-y', String(terminal_rows), `${up}; echo "up exited with $?"; exec sleep 600`);
      expect(started.exitCode, String(started.stderr)).toBe(0);
      owned.pane_pid = Number(String(started.stdout).trim());
      await waitFor('the locks dashboard', async () => (await screen('locks')).includes('r1: counter 0 after 0 acknowledged increments'), leader_wait_ms);
      const run = await dslab(cwd, 'lock', 'run', '--rounds', '3');
      expect(run.exitCode, run.stderr).toBe(0);
      await waitFor("r1's verdict after the rounds", async () => (await screen('locks')).includes('r1: counter 6 after 6 acknowledged increments, 0 lost; 0 overlaps'));
      await tmux('send-keys', '-t', 'locks', 'q');
      await waitFor('the question', async () => (await screen('locks')).includes('stop the cluster and quit?'));
      await tmux('send-keys', '-t', 'locks', 'y');
      // -J joins the lines the terminal wrapped: the verdict is one line of output, wider than the window.
      const ended = await waitFor('dslab up to exit', async () => {
        const shown = String((await tmux('capture-pane', '-p', '-J', '-t', 'locks')).stdout);
        return /up exited with \d+/.test(shown) ? shown : undefined;
      });
      expect(ended).toMatch(/^cluster locks stopped\nlock check: ok: 6 critical sections, 6 acknowledged increments, counter 6; mutual exclusion held and nothing was lost\nup exited with 0$/m);
    });
  });

  it("dslab test --watch shows the nodes, the busiest links' rates and the workload's figures while it runs, then prints the verdict and exits 0", async ({ onTestFinished }) => {
    const owned = testWorkdir(onTestFinished, 'test');
    const { cwd } = owned;
    const echo = `${process.execPath} ${path.join(repo_root, 'dist', 'systems', 'echo', 'main.js')}`;
    // A time limit that leaves `dslab watch` (a process of its own, a few seconds to start on a loaded machine) time to draw while the load runs.
    const test = `cd ${shellQuote(cwd)} && env -u CI -u FORCE_COLOR NO_COLOR=1 DSLAB_HOME= TERM=xterm-256color ${shellQuote(process.execPath)} ${shellQuote(cli_path)} test -w echo --bin ${shellQuote(echo)} --node-count 3 --time-limit ${watched_test_limit_s} --rate 20 --watch`;
    const started = await tmux('new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', 'test', '-x', String(terminal_columns), '-y', String(terminal_rows), `${test}; echo "test exited with $?"; exec sleep 600`);
    expect(started.exitCode, String(started.stderr)).toBe(0);
    owned.pane_pid = Number(String(started.stdout).trim());

    // One frame with all three while the load runs: the table, a link's rate, and the load's figures with answered operations.
    const live = await waitFor(
      'the dashboard with link rates and load figures',
      async () => {
        const shown = await screen('test');
        const load = new RegExp(`^load \\S+ of ${watched_test_limit_s}s: (\\d+) ops · ok (\\d+) · fail \\d+ · unknown \\d+ · avg \\d+/s`, 'm').exec(shown);
        return load && Number(load[2]) > 0 && /^msgs\/s per link: \S+→\S+ \d/m.test(shown) ? shown : undefined;
      },
      leader_wait_ms,
    );
    expect(tableRows(live)).toEqual(['n0', 'n1', 'n2']);
    expect(live).toContain('cluster test-echo · echo');

    const ended = await waitFor('dslab test to exit', async () => {
      const shown = String((await tmux('capture-pane', '-p', '-J', '-t', 'test')).stdout);
      return /test exited with \d+/.test(shown) ? shown : undefined;
    });
    expect(ended).toMatch(/^valid: all \d+ echoes came back as sent/m);
    expect(ended).toMatch(/^test exited with 0$/m);
    // The live frame gave way to the farewell line: no table or link line is left behind.
    expect(ended).not.toMatch(/NODE\s+STATUS|msgs\/s per link/);
  });

  it('dslab watch follows a cluster under load from another terminal, shows the leader change, and q leaves the cluster running', async ({ onTestFinished }) => {
    const { cwd } = testWorkdir(onTestFinished, 'watch', 'watch2');
    const up = await dslab(cwd, 'up', 'raft', '--nodes', '5', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    const load = await dslab(cwd, 'load', '--rate', '100', '--duration', '60s', '--detach');
    expect(load.exitCode, load.stderr).toBe(0);
    await startWatch(cwd, 'watch');

    const first = await waitFor('a leader in the watch view', async () => leaderOnScreen(await screen('watch')), leader_wait_ms);
    // The leader's commit index moves on screen while the load runs: progress reports still arrive, merged to the frame rate.
    const leaderCommit = async () => Number(new RegExp(`^(?:> | {2})${first.id}\\s+up\\s+leader\\s+\\d+\\s+(\\d+)`, 'm').exec(await screen('watch'))?.[1] ?? NaN);
    const before = await waitFor("the leader's commit index", async () => {
      const value = await leaderCommit();
      return Number.isFinite(value) ? value : undefined;
    });
    await waitFor('the commit index to move', async () => (await leaderCommit()) > before);
    await waitFor('the throughput sparkline', async () => /committed ops\/s \S+ \d+/.test(await screen('watch')));

    // What the view reads: each node's progress-only reports merged to about one per frame, versus every report.
    const client = new ControlClient(findRunningCluster(path.join(cwd, '.dslab')));
    const countStateReports = async (coalesce_state_ms?: number) => {
      let reports = 0;
      const follower = client.follow((event: ClusterEvent) => void (event.type === 'node_state' && reports++), { coalesce_state_ms });
      await new Promise((resolve) => setTimeout(resolve, stream_sample_ms));
      follower.stop();
      return reports;
    };
    const [everyReport, merged] = await Promise.all([countStateReports(), countStateReports(100)]);
    // 5 nodes, one merged report per node per 100 ms at most, plus a few sent at once for a role change.
    expect(merged).toBeLessThanOrEqual(5 * (stream_sample_ms / 100 + 2));
    expect(everyReport).toBeGreaterThan(2 * merged);
    await expect(client.follow(() => undefined, { coalesce_state_ms: 60_000 }).ended).rejects.toThrow(/coalesce_state_ms must be a whole number of milliseconds from 1 to 1000/);

    const killed = await dslab(cwd, 'kill', first.id);
    expect(killed.exitCode, killed.stderr).toBe(0);
    const second = await waitFor(
      'a new leader with a higher term in the watch view',
      async () => {
        const leader = leaderOnScreen(await screen('watch'));
        return leader && leader.id !== first.id && leader.term > first.term ? leader : undefined;
      },
      leader_wait_ms,
    );
    const after = await screen('watch');
    expect(after).toMatch(new RegExp(`${first.id}\\s+down KILL`));
    expect(after).toContain(`${second.id} is leader (term ${second.term})`);

    await tmux('send-keys', '-t', 'watch', 'q');
    expect(await watchEnding('watch')).toEqual({ exit_code: 0, line_editing: true, echo: true, cursor_visible: true });
    expect(await screen('watch')).toMatch(/^left the dashboard; cluster raft keeps running \(dslab down stops it\)\nwatch exited with 0$/m);
    // Quitting the view leaves the cluster as it was.
    const status = await dslabJson<{ nodes: { id: string; status: string }[] }>(cwd, 'status');
    expect(status.nodes.filter((n) => n.status === 'up').map((n) => n.id)).toHaveLength(4);

    // The cluster going away under a second view ends it too, and the terminal is given back just the same.
    await startWatch(cwd, 'watch2');
    await waitFor('a leader in the second view', async () => leaderOnScreen(await screen('watch2')), leader_wait_ms);
    const down = await dslab(cwd, 'down');
    expect(down.exitCode, down.stderr).toBe(0);
    const ending = await watchEnding('watch2');
    expect(ending).toMatchObject({ line_editing: true, echo: true, cursor_visible: true });
    expect(await screen('watch2')).toMatch(/^cluster raft stopped\nwatch exited with 0$/m);
  });
});
