/**
 * The body of a detached supervisor (`dslab up --detach`), run by
 * src/supervisor-main.ts with the registry's plugins (src/lib imports no
 * workload). The config comes as base64url JSON in argv; one line on stdout
 * says "ready" or "error <text>", after which stdout is never written again
 * (the launcher has gone). Its stderr is the cluster's supervisor.log, where
 * the supervisor also keeps its own log (see SupervisorLog), so anything that
 * escapes ends up next to it.
 */
import { errorMessage, UserError } from '../util/errors.js';
import { Supervisor, type SupervisorConfig, type SupervisorPlugins } from './supervisor.js';

export async function runDetachedSupervisor(plugins: SupervisorPlugins): Promise<never> {
  const config = JSON.parse(Buffer.from(process.argv[2] ?? '', 'base64url').toString('utf8')) as SupervisorConfig;

  /** A line in the log's format; stderr is a file here, so the write is synchronous and survives an exit right after. */
  const logLine = (text: string) => process.stderr.write(`${new Date().toISOString()} ${text}\n`);

  process.on('uncaughtException', (error) => {
    logLine(`supervisor crashed (a bug in dslab; the watchdog stops the nodes): ${error.stack ?? String(error)}`);
    process.exit(70);
  });

  try {
    const supervisor = await Supervisor.start(config, plugins);
    process.stdout.write('ready\n');
    process.stdout.end();
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.on(signal, () => {
        supervisor.log.note(`stopping: received ${signal}`);
        void supervisor.shutdown();
      });
    }
    await supervisor.done;
    process.exit(0);
  } catch (error) {
    // The supervisor has already written why into its log.
    const text = error instanceof UserError ? error.message : errorMessage(error);
    process.stdout.write(`error ${text.replace(/\n/g, ' ')}\n`);
    process.exit(1);
  }
}
