/**
 * `dslab test`'s exit status, Maelstrom's (Jepsen's CLI): scripts and CI that
 * wrap `maelstrom test` read these numbers.
 */

/** Every check passed. */
export const exit_code_valid = 0;
/** Some check found the history invalid. */
export const exit_code_invalid = 1;
/** Some check could not decide (Jepsen's `:unknown`). */
export const exit_code_unknown = 2;
/** The arguments were refused before anything ran (Jepsen prints the errors, exits 254). */
export const exit_code_bad_arguments = 254;
/** The run itself broke (Jepsen's "Oh jeez, I'm sorry, Jepsen broke"). */
export const exit_code_internal_error = 255;

export type Verdict = 'valid' | 'invalid' | 'unknown';

const exit_code_of_verdict: Record<Verdict, number> = {
  valid: exit_code_valid,
  invalid: exit_code_invalid,
  unknown: exit_code_unknown,
};

export function exitCodeForVerdict(verdict: Verdict): number {
  return exit_code_of_verdict[verdict];
}

/**
 * With `--test-count` above 1, Maelstrom exits as soon as one run is not
 * valid, with that run's code; so the runner stops there too.
 */
export function continuesAfter(verdict: Verdict): boolean {
  return verdict === 'valid';
}
