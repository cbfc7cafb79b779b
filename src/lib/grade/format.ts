import chalk from 'chalk';
import type { LabResult } from './grade.js';
import type { TestResult } from './runner.js';
import type { SubmissionOutcome } from './batch.js';

export function formatTestLine(r: TestResult): string {
  const mark = r.passed ? chalk.green('✓') : chalk.red('✗');
  const line = `${mark} ${r.test.padEnd(36)} ${String(r.earned).padStart(3)}/${String(r.points).padEnd(3)} ${(r.elapsed_ms / 1000).toFixed(1).padStart(5)}s  seed ${r.seed}`;
  if (r.passed) return line;
  return [line, `    ${chalk.red(r.failure ?? 'failed')}`, `    replay: ${r.replay}`, ...(r.kept_dir ? [`    logs, trace, history: ${r.kept_dir}`] : []), ...r.bad_ops.map((op) => `      ${op}`)].join('\n');
}

export function formatScore(result: LabResult): string {
  const failed = result.results.filter((r) => !r.passed).length;
  const colour = result.score === result.max_score ? chalk.green : chalk.red;
  const notRun = result.not_run.length ? `; --bail stopped at the first failure, ${result.not_run.length} test${result.not_run.length === 1 ? '' : 's'} not run: ${result.not_run.join(', ')}` : '';
  return colour(`${result.title}: ${result.score}/${result.max_score} points`) + ` (${result.results.length} test run${result.results.length === 1 ? '' : 's'}, ${failed} failed, ${(result.elapsed_ms / 1000).toFixed(1)} s${notRun})`;
}

/** The failed tests of a grade, each once (with --repeat a test may fail several runs), then those --bail did not run. */
export function failedTests(result: LabResult): string[] {
  return [...new Set(result.results.filter((r) => !r.passed).map((r) => r.test)), ...result.not_run.map((t) => `${t} (not run)`)];
}

/** The batch's final table: one row per submission, its score and the tests it failed, or why it was not graded. */
export function formatBatchTable(outcomes: readonly SubmissionOutcome[]): string {
  const rows = outcomes.map(({ submission, result, error }) => ({
    name: submission.name,
    score: result ? `${result.score}/${result.max_score}` : '-',
    failed: result ? failedTests(result).join(', ') || 'none' : `not graded: ${error ?? 'unknown'}`,
    full: result !== null && result.score === result.max_score,
  }));
  const nameWidth = Math.max('Submission'.length, ...rows.map((r) => r.name.length));
  const scoreWidth = Math.max('Score'.length, ...rows.map((r) => r.score.length));
  const header = `${'Submission'.padEnd(nameWidth)}  ${'Score'.padStart(scoreWidth)}  Failed tests`;
  const lines = rows.map((r) => {
    const score = r.score.padStart(scoreWidth);
    return `${r.name.padEnd(nameWidth)}  ${r.full ? chalk.green(score) : chalk.red(score)}  ${r.failed}`;
  });
  return [chalk.bold(header), ...lines].join('\n');
}
