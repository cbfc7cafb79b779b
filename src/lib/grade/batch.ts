import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SystemPlugin } from '../plugin.js';
import { UserError, errorMessage } from '../util/errors.js';
import { splitShellWords } from '../util/shell-words.js';
import { gradeLab, type GradeOptions, type GradeProgress, type LabResult } from './grade.js';
import { commandWord, starter_entry_files, starterCommand } from './init.js';
import type { LabSpec } from './spec.js';
import type { TestResult } from './runner.js';

/**
 * Batch grading: many submissions of one lab (a class's), each a folder, each
 * graded as `dslab grade LAB --bin …` would grade it, one after another or a
 * bounded number at once.
 */

/** Submissions graded at once at most (each runs whole clusters; a laptop has a few cores). */
export const parallel_max = 8;
/** Submissions one batch grades at most (a glob that matched a home folder by mistake stops here). */
export const submissions_max = 2000;
/** What --bin writes for the submission's folder. */
export const submission_placeholder = '{}';

export interface Submission {
  /** The folder's name: the student, in the table and in every report. */
  name: string;
  /** The folder, as the pattern named it (relative to the current folder when the pattern was). */
  dir: string;
  /** The command that runs one of its nodes, or null when there is none (see problem). */
  bin: string | null;
  /** Why it cannot run, when bin is null. */
  problem: string | null;
}

export interface SubmissionOutcome {
  submission: Submission;
  /** Its grade, or null when it could not be graded. */
  result: LabResult | null;
  /** Why it could not be graded (no program to run, a --bin that cannot be split, …). */
  error: string | null;
}

const glob_chars = /[*?[]/;

/**
 * The submission folders a pattern names, sorted: a glob over folders
 * (`students/*`, `class-?/*`; `*` and `?` within one path segment, `[abc]`
 * sets), or one folder whose subfolders are the submissions. Hidden entries
 * are skipped unless the pattern's segment starts with a dot; files are skipped.
 */
export function findSubmissionDirs(pattern: string, cwd = process.cwd()): string[] {
  if (pattern.trim() === '') throw new UserError('--submissions is empty: give a folder of submissions or a glob like "students/*"');
  if (!glob_chars.test(pattern)) {
    const folder = path.resolve(cwd, pattern);
    if (!existsSync(folder)) throw new UserError(`--submissions: ${pattern} does not exist`);
    if (!statSync(folder).isDirectory()) throw new UserError(`--submissions: ${pattern} is not a folder (give a folder of submissions, or a glob like "students/*")`);
    return subfolders(folder, (name) => !name.startsWith('.')).map((name) => path.join(pattern, name));
  }
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split(/[/\\]+/).filter((s, i) => s !== '' || i === 0);
  let matches = [absolute ? path.parse(path.resolve(pattern)).root : ''];
  for (const [index, segment] of segments.entries()) {
    if (absolute && index === 0) continue;
    if (!glob_chars.test(segment)) {
      matches = matches.map((m) => (m === '' ? segment : path.join(m, segment))).filter((m) => existsSync(path.resolve(cwd, m)));
      continue;
    }
    const matcher = segmentMatcher(segment);
    matches = matches.flatMap((m) => subfolders(path.resolve(cwd, m || '.'), (name) => matcher.test(name) && (segment.startsWith('.') || !name.startsWith('.'))).map((name) => (m === '' ? name : path.join(m, name))));
    if (matches.length > submissions_max) throw new UserError(`--submissions ${pattern} matches more than ${submissions_max} folders`);
  }
  return matches.filter((m) => statSync(path.resolve(cwd, m)).isDirectory()).sort();
}

function subfolders(folder: string, keep: (name: string) => boolean): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((e) => (e.isDirectory() || (e.isSymbolicLink() && statSync(path.join(folder, e.name), { throwIfNoEntry: false })?.isDirectory() === true)) && keep(e.name))
    .map((e) => e.name)
    .sort();
}

/** One path segment of a glob as a regular expression: * any run of characters, ? one, [set] as written. */
function segmentMatcher(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[' && segment.indexOf(']', i + 1) > i + 1) {
      const end = segment.indexOf(']', i + 1);
      const set = segment.slice(i + 1, end);
      source += `[${set.startsWith('!') ? `^${set.slice(1)}` : set}]`.replace(/\\/g, '\\\\');
      i = end;
    } else source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * What runs each submission: --bin with {} replaced by the submission's folder,
 * or, without --bin, the lab's starter convention (python3 DIR/node.py, or
 * DIR/node.ts through dslab's tsx), whichever file the folder holds.
 */
export function planSubmissions(dirs: readonly string[], bin_template: string | undefined): Submission[] {
  if (dirs.length === 0) throw new UserError('--submissions matched no folder');
  if (dirs.length > submissions_max) throw new UserError(`--submissions matched ${dirs.length} folders, more than ${submissions_max}`);
  if (bin_template !== undefined && !bin_template.includes(submission_placeholder)) {
    throw new UserError(`with --submissions, --bin needs ${submission_placeholder} where each submission's folder goes, like --bin "python3 ${submission_placeholder}/node.py" (without it every submission would run the same program)`);
  }
  const byName = new Map<string, string>();
  return dirs.map((dir) => {
    const name = path.basename(path.resolve(dir));
    const other = byName.get(name);
    if (other !== undefined) throw new UserError(`--submissions: two submissions are named ${name} (${other} and ${dir}): each folder's name names its student in the reports`);
    byName.set(name, dir);
    if (bin_template !== undefined) {
      const bin = bin_template.replaceAll(submission_placeholder, commandWord(dir));
      // A template that names a file the submission lacks (main.py for node.py) would score every student 0.
      const missing = splitShellWords(bin, '--bin').find((word) => isInside(word, dir) && !existsSync(word));
      return missing === undefined ? { name, dir, bin, problem: null } : { name, dir, bin: null, problem: `${missing} does not exist (--bin ${bin_template})` };
    }
    const found = (Object.keys(starter_entry_files) as (keyof typeof starter_entry_files)[]).filter((lang) => existsSync(path.join(dir, starter_entry_files[lang])));
    if (found.length === 1) return { name, dir, bin: starterCommand(found[0]!, dir), problem: null };
    const files = Object.values(starter_entry_files).join(' or ');
    const problem = found.length === 0 ? `${dir} holds no ${files} (the starter's entry file); give --bin with ${submission_placeholder} to say how to run it` : `${dir} holds both ${files}; give --bin with ${submission_placeholder} to say which runs`;
    return { name, dir, bin: null, problem };
  });
}

/** A word of a command that names a path inside the submission's folder. */
function isInside(word: string, dir: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(word));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Batch progress: each submission's start and end, and each of its test runs. */
export interface BatchProgress {
  onSubmissionStart(submission: Submission): void;
  onTestEnd(submission: Submission, result: TestResult): void;
  onSubmissionEnd(outcome: SubmissionOutcome): void;
}

/** Grades every submission, at most `parallel` at once, in the order given; one that cannot be graded does not stop the others. */
export async function gradeSubmissions(
  lab: LabSpec,
  reference_system: SystemPlugin | undefined,
  submissions: readonly Submission[],
  options: Omit<GradeOptions, 'bin' | 'reference' | 'submission'> & { parallel: number },
  progress: BatchProgress,
): Promise<SubmissionOutcome[]> {
  if (!Number.isInteger(options.parallel) || options.parallel < 1 || options.parallel > parallel_max) throw new UserError(`--parallel must be between 1 and ${parallel_max}`);
  const outcomes: SubmissionOutcome[] = new Array(submissions.length);
  let next = 0;
  const worker = async () => {
    while (next < submissions.length) {
      const index = next++;
      const submission = submissions[index]!;
      progress.onSubmissionStart(submission);
      const outcome = await gradeOne(lab, reference_system, submission, options, progress);
      outcomes[index] = outcome;
      progress.onSubmissionEnd(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel, submissions.length) }, worker));
  return outcomes;
}

async function gradeOne(lab: LabSpec, reference_system: SystemPlugin | undefined, submission: Submission, options: Omit<GradeOptions, 'bin' | 'reference' | 'submission'>, progress: BatchProgress): Promise<SubmissionOutcome> {
  if (submission.bin === null) return { submission, result: null, error: submission.problem ?? 'nothing to run' };
  const quiet: GradeProgress = { onStart: () => undefined, onTestStart: () => undefined, onTestEnd: (r) => progress.onTestEnd(submission, r) };
  try {
    const result = await gradeLab(lab, reference_system, { ...options, bin: submission.bin, submission: submission.name }, quiet);
    return { submission, result, error: null };
  } catch (error) {
    // A submission's own problem (its --bin cannot be split, say) is its row in the table; a bug in dslab stops the batch.
    if (error instanceof UserError) return { submission, result: null, error: errorMessage(error) };
    throw error;
  }
}
