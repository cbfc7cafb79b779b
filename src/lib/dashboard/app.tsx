import { Box, render, Static, useApp, useInput, useStdout, type Key } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { ControlAction } from '../control/api.js';
import { DashboardView, Farewell, LogLine } from './components.js';
import { terminal_columns_default, terminal_columns_min } from './layout.js';
import { farewellLines, type DashboardEnding } from './model.js';
import { log_replay_entries_max, useDashboard, type DashboardSource } from './use-dashboard.js';

/** Ink's own throttle sits above our frame rate so it never delays a frame we publish. */
export const ink_max_fps = 20;
/**
 * Erases the whole screen and puts the cursor home. Ink erases its last frame by counting lines up
 * from the cursor, but a terminal that changed width rewraps those lines, so the count misses some
 * and pieces of the old frame (its header) stay on screen: after a resize the screen is cleared instead.
 */
export const clear_screen = '\x1b[2J\x1b[H';

export type DashboardMode = 'watch' | 'up';

export interface DashboardAppProps {
  source: DashboardSource;
  mode: DashboardMode;
  color: boolean;
  /** `up` only: stops the in-process cluster (after the user confirmed q, or on Ctrl-C). */
  stopCluster?: () => Promise<void>;
}

/** NO_COLOR (https://no-color.org): present and not empty turns colour off. */
export function colorAllowed(env: NodeJS.ProcessEnv): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

type Message = { text: string; error?: boolean } | null;

export function DashboardApp({ source, mode, color, stopCluster }: DashboardAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const { model, now_ms, fresh_log, log_batch, dispatch, replayLog } = useDashboard(source);
  // Refs as well as state: several keys can arrive in one input chunk, before React re-renders.
  const selectedRef = useRef(0);
  const [selected, setSelected] = useState(0);
  const confirmingRef = useRef(false);
  const [showLog, setShowLog] = useState(true);
  const [showHelp, setShowHelp] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const stopping = useRef(false);
  /** Set when the dashboard closes: the last frame becomes these lines, then the app exits. */
  const [farewell, setFarewell] = useState<string[] | null>(null);
  /** Terminal resizes so far: each redraws the screen from clean once the view has its new width. */
  const [resizes, setResizes] = useState(0);
  const width = Math.max(terminal_columns_min, stdout.columns || terminal_columns_default);
  const clampRow = (row: number) => Math.max(0, Math.min(row, model.nodes.length - 1));
  const select = (row: number) => {
    selectedRef.current = clampRow(row);
    setSelected(selectedRef.current);
  };

  const close = (ending: DashboardEnding) => setFarewell((shown) => shown ?? farewellLines(model, ending));

  // The cluster went away under the view (not while this view stops it: that path says so itself).
  useEffect(() => {
    if (model.cluster_down && !stopping.current) close({ how: 'cluster_gone' });
  });

  // Exits once the farewell is the frame on screen; Ink's last render keeps it.
  useEffect(() => {
    if (farewell) exit();
  }, [farewell, exit]);

  useEffect(() => {
    const onResize = () => setResizes((count) => count + 1);
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  // After the view was laid out at the new width (Ink's own resize render, at the old width, came before):
  // clear everything, then print the newest log entries again above a fresh frame.
  useEffect(() => {
    if (resizes === 0) return;
    stdout.write(clear_screen);
    replayLog(log_replay_entries_max);
  }, [resizes, stdout, replayLog]);

  const perform = (label: string, action: ControlAction) => {
    setMessage({ text: `${label}…` });
    source.act(action).then(
      (result) => setMessage({ text: result.description }),
      (error: Error) => {
        const text = `${label} failed: ${error.message}`;
        setMessage({ text, error: true });
        dispatch({ type: 'local_note', t: Date.now(), text, error: true });
      },
    );
  };

  const stop = () => {
    if (stopping.current) return;
    stopping.current = true;
    setMessage({ text: 'stopping the cluster…' });
    (stopCluster ?? (async () => undefined))().then(
      () => close({ how: 'stopped' }),
      (error: Error) => setFarewell([`stopping cluster ${model.name ?? '?'} failed: ${error.message}`]),
    );
  };

  const onKey = (input: string, key: Key) => {
    if (key.ctrl && input === 'c') {
      if (mode === 'up') stop();
      else close({ how: 'left' });
      return;
    }
    if (confirmingRef.current) {
      confirmingRef.current = false;
      if (input === 'y' || input === 'Y') stop();
      else setMessage({ text: 'the cluster keeps running' });
      return;
    }
    const row = clampRow(selectedRef.current);
    const node = model.nodes[row];
    if (key.upArrow) select(row - 1);
    else if (key.downArrow || input === 'j') select(row + 1);
    else if (/^[1-9]$/.test(input) && Number(input) <= model.nodes.length) select(Number(input) - 1);
    else if (input === 'k' && node) perform(`kill ${node.id}`, { type: 'kill', node: node.id });
    else if (input === 'r' && node) perform(`restart ${node.id}`, { type: 'restart', node: node.id });
    else if (input === 'p' && node) {
      if (node.status === 'paused') perform(`resume ${node.id}`, { type: 'resume', node: node.id });
      else perform(`pause ${node.id}`, { type: 'pause', node: node.id });
    } else if (input === 'i' && node) perform(`isolate ${node.id}`, { type: 'partition', isolate: node.id });
    else if (input === 's') perform('split into random halves', { type: 'partition', random: true });
    else if (input === 'h') perform('heal', { type: 'heal' });
    else if (input === 'l') {
      setShowLog((shown) => !shown);
      setMessage({ text: showLog ? 'event log hidden (l shows it again)' : 'event log shown' });
    } else if (input === '?') setShowHelp((shown) => !shown);
    else if (input === 'q') {
      if (mode === 'watch') close({ how: 'left' });
      else {
        confirmingRef.current = true;
        setMessage({ text: 'stop the cluster and quit? y = stop it, any other key = keep watching' });
      }
    }
  };

  useInput((input, key) => {
    // Keys typed faster than a frame (or sent by tmux) can arrive as one string: handle each in turn.
    if (input.length > 1 && !key.ctrl && !key.meta) for (const ch of input) onKey(ch, key);
    else onKey(input, key);
  });

  return (
    <Box flexDirection="column">
      {/* Printed once above the live region and never redrawn; a new key mounts a fresh Static for each batch. */}
      <Static key={log_batch} items={showLog ? fresh_log : []}>
        {(entry) => <LogLine key={entry.id} entry={entry} color={color} />}
      </Static>
      {farewell ? (
        <Farewell lines={farewell} />
      ) : (
        <DashboardView
          model={model}
          now_ms={now_ms}
          width={width}
          color={color}
          selected={model.nodes.length ? clampRow(selected) : -1}
          message={message}
          showHelp={showHelp}
          height={stdout.rows || null}
        />
      )}
    </Box>
  );
}

export interface RunDashboardOptions {
  source: DashboardSource;
  mode: DashboardMode;
  stopCluster?: () => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

/** Renders the dashboard on this terminal until the user quits or the cluster goes down; always gives the terminal back. */
export async function runDashboard(options: RunDashboardOptions): Promise<void> {
  const color = colorAllowed(options.env ?? process.env);
  const instance = render(<DashboardApp source={options.source} mode={options.mode} color={color} stopCluster={options.stopCluster} />, {
    exitOnCtrlC: false,
    maxFps: ink_max_fps,
    // Not incrementalRendering: in Ink 6.8 it leaves stale lines behind once Static output is printed above the live region.
  });
  try {
    await instance.waitUntilExit();
  } finally {
    instance.unmount();
    instance.cleanup();
  }
}
