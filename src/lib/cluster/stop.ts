import { ControlClient } from '../control/client.js';
import type { ClosingCheck } from '../plugin.js';
import { UserError } from '../util/errors.js';
import { type ClusterInfo, isProcessAlive } from './paths.js';

/** How long `down` waits for the supervisor to exit after asking it to stop. */
export const supervisor_exit_wait_ms = 15_000;
const poll_interval_ms = 50;

/**
 * Asks the supervisor to stop and waits until its process is gone; returns
 * what the workloads said of the run before it stopped (none when the
 * supervisor could not be asked).
 */
export async function stopCluster(info: ClusterInfo): Promise<ClosingCheck[]> {
  let checks: ClosingCheck[] = [];
  try {
    const result = await new ControlClient(info).act({ type: 'down' });
    if (Array.isArray(result.checks)) checks = result.checks as ClosingCheck[];
  } catch (error) {
    // A supervisor that cannot answer is sent SIGTERM instead.
    if (isProcessAlive(info.supervisor_pid)) process.kill(info.supervisor_pid, 'SIGTERM');
    else if (!(error instanceof UserError)) throw error;
  }
  const deadline = Date.now() + supervisor_exit_wait_ms;
  while (isProcessAlive(info.supervisor_pid)) {
    if (Date.now() > deadline) {
      process.kill(info.supervisor_pid, 'SIGKILL');
      throw new UserError(`the supervisor of "${info.name}" did not stop within ${supervisor_exit_wait_ms / 1000}s and was killed`);
    }
    await new Promise((resolve) => setTimeout(resolve, poll_interval_ms));
  }
  return checks;
}
