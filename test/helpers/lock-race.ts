import path from 'node:path';
import { expect } from 'vitest';
import { readClusterInfo } from '../../src/lib/cluster/paths.js';
import { ControlClient } from '../../src/lib/control/client.js';
import type { LockCheck } from '../../src/systems/locks/checker.js';
import { dslab, waitFor } from './cli.js';

const contenders = async (cwd: string, name: string) => (await new ControlClient(readClusterInfo(path.join(cwd, '.dslab', name, 'cluster.json'))!).status()).nodes.filter((n) => n.group === 'contenders');

/** Starts `rounds` rounds on a locks cluster, kills the Zab leader while a contender holds the lock, waits for the rounds to end; the lock check. */
export async function raceThroughLeaderKill(cwd: string, name: string, rounds: number, before_kill?: () => Promise<void>): Promise<{ exitCode: number; check: LockCheck; killed: string }> {
  expect((await dslab(cwd, 'lock', 'run', '--cluster', name, '--rounds', String(rounds), '--no-wait')).exitCode).toBe(0);
  await waitFor(`a contender of ${name} holding the lock`, async () => (await contenders(cwd, name)).some((n) => n.state.lock_state === 'holding' || n.state.lock_state === 'releasing'), 120_000);
  await before_kill?.();
  const killed = await dslab(cwd, 'kill', 'leader', '--cluster', name);
  expect(killed.exitCode, killed.stderr).toBe(0);
  await waitFor(`${name}'s rounds to end`, async () => (await contenders(cwd, name)).every((n) => n.state.rounds_left === 0 && n.state.lock_state === 'idle'), 300_000);
  const result = await dslab(cwd, 'lock', 'check', '--cluster', name, '--json');
  return { exitCode: result.exitCode, check: JSON.parse(result.stdout) as LockCheck, killed: /killed (\w+)/.exec(killed.stdout)?.[1] ?? '' };
}
