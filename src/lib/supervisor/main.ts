/**
 * Entry point of a detached supervisor (`dslab up --detach`). The config comes
 * as base64url JSON in argv; one line on stdout says "ready" or "error <text>",
 * after which stdout is never written again (the launcher has gone).
 */
import { errorMessage, UserError } from '../util/errors.js';
import { Supervisor, type SupervisorConfig } from './supervisor.js';

const config = JSON.parse(Buffer.from(process.argv[2] ?? '', 'base64url').toString('utf8')) as SupervisorConfig;

process.on('uncaughtException', (error) => {
  console.error(`[dslab supervisor] uncaught: ${error.stack ?? String(error)}`);
  process.exit(70);
});

try {
  const supervisor = await Supervisor.start(config);
  process.stdout.write('ready\n');
  process.stdout.end();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void supervisor.shutdown());
  await supervisor.done;
  process.exit(0);
} catch (error) {
  const text = error instanceof UserError ? error.message : errorMessage(error);
  console.error(`[dslab supervisor] failed to start: ${text}`);
  process.stdout.write(`error ${text.replace(/\n/g, ' ')}\n`);
  process.exit(1);
}
