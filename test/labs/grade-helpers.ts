import { execa } from 'execa';
import { cli_path, type CliResult } from '../helpers/cli.js';

// What the grader's real-process test files share: the JSON a grade prints, and the CLI run with npm's variables set.

export interface GradeJson {
  score: number;
  max_score: number;
  not_run: string[];
  results: { test: string; passed: boolean; failure: string | null; cause: string | null; replay: string; kept_dir: string | null; seed: number; nonlinearizable: { key: string } | null }[];
}

/** npm's variables that say how dslab was started (the test runner itself may run under npx or npm test). */
export const no_npm = { npm_command: undefined, npm_lifecycle_event: undefined, npm_execpath: undefined };
export const under_npx = { npm_command: 'exec', npm_lifecycle_event: 'npx', npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' };

/** The real CLI with npm's variables set as given (like dslab() in helpers, which passes the runner's own on). */
export async function grade(cwd: string, npm: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
  const result = await execa(process.execPath, [cli_path, 'grade', ...args], { cwd, reject: false, env: { NO_COLOR: '1', DSLAB_HOME: '', ...npm }, timeout: 120_000 });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

