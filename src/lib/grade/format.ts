import chalk from 'chalk';
import type { LabResult } from './grade.js';
import type { TestResult } from './runner.js';

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
