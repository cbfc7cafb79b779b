import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, cli_path, isAlive, makeWorkdir, waitFor } from '../helpers/cli.js';

/**
 * The dashboard in a real pseudo-terminal: tmux (Debian's package) runs
 * `dslab up raft --nodes 5` in a detached 100x30 window; the test reads the
 * screen with capture-pane and types with send-keys.
 */

const tmux_binary = '/usr/bin/tmux';
/** A private tmux server per test run, so a user's own tmux sessions are never touched. */
const tmux_socket = `dslab-dashboard-e2e-${process.pid}`;
const terminal_columns = 100;
const terminal_rows = 30;
/** Elections on a loaded 2-core machine can take a few rounds. */
const leader_wait_ms = 30_000;

const tmux = (...args: string[]) => execa(tmux_binary, ['-L', tmux_socket, ...args], { reject: false });
const screen = async () => String((await tmux('capture-pane', '-p', '-t', 'dash')).stdout);
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

describe('dashboard in a real terminal', () => {
  let cwd: string;
  let panePid = 0;

  afterEach(async () => {
    await cleanup(cwd, panePid ? [panePid] : []);
    await tmux('kill-server');
  });

  it('shows a leader; k on its row kills it; a new leader with a higher term appears', async () => {
    cwd = makeWorkdir();
    const command = `cd ${shellQuote(cwd)} && exec env -u CI -u FORCE_COLOR NO_COLOR=1 DSLAB_HOME= TERM=xterm-256color ${shellQuote(process.execPath)} ${shellQuote(cli_path)} up raft --nodes 5`;
    const started = await tmux('new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', 'dash', '-x', String(terminal_columns), '-y', String(terminal_rows), command);
    expect(started.exitCode, String(started.stderr)).toBe(0);
    panePid = Number(String(started.stdout).trim());

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

    // q asks before stopping the cluster it started; y stops it and gives the terminal back.
    await tmux('send-keys', '-t', 'dash', 'q');
    await waitFor('the question', async () => (await screen()).includes('stop the cluster and quit?'));
    await tmux('send-keys', '-t', 'dash', 'y');
    await waitFor('dslab up to exit', () => !isAlive(panePid));
  });
});
