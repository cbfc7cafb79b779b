import type { ControlClient } from '../lib/control/client.js';
import { formatEvent } from '../lib/format.js';

/** Prints a cluster's events, one line each (raw NDJSON with json), until the stream ends or Ctrl-C. */
export async function printEventLines(client: ControlClient, options: { json: boolean; history: boolean }): Promise<void> {
  const follower = client.follow(
    (event) => {
      const line = options.json ? JSON.stringify(event) : formatEvent(event);
      if (line) process.stdout.write(line + '\n');
    },
    { history: options.history },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => follower.stop());
  await follower.ended;
}
