import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';

/**
 * Where a grade keeps the evidence of failed tests: .dslab/grade/LAB/SUBMISSION-TIME/TEST-SEED.
 * Each grade of a submission gets its own folder, named so a person finds it;
 * only the latest few per submission and lab stay, so repeated grading does not pile up.
 */

/** Kept grade folders per submission and lab; a new grade removes the oldest beyond this. */
export const kept_grades_per_submission_max = 3;

/** A submission's name as a folder name: letters, digits, dot, dash and underscore (others become "_"). */
export function submissionSlug(name: string): string {
  const slug = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.]+/, '_');
  return slug || 'submission';
}

/** "20261207-123456", UTC: sorts by time as text. */
export function gradeStamp(at: Date): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

const stamp_pattern = String.raw`\d{8}-\d{6}(?:-\d+)?`;

/** The grade folders a submission already has for a lab, oldest first. */
function keptGrades(labDir: string, slug: string): string[] {
  if (!existsSync(labDir)) return [];
  const own = new RegExp(`^${slug.replace(/[.]/g, '\\.')}-${stamp_pattern}$`);
  return readdirSync(labDir)
    .filter((name) => own.test(name))
    .sort((a, b) => stampOf(a, slug).localeCompare(stampOf(b, slug)));
}

const stampOf = (name: string, slug: string) => name.slice(slug.length + 1);

/**
 * The folder for a new grade of `submission` on `lab` under `gradeHome` (.dslab/grade),
 * after removing that submission's oldest grade folders so at most kept_grades_per_submission_max remain.
 * The folder is not created: the runner makes it private when a test needs it.
 */
export function newGradeDir(gradeHome: string, lab: string, submission: string, at = new Date()): string {
  const labDir = path.join(gradeHome, lab);
  const slug = submissionSlug(submission);
  const earlier = keptGrades(labDir, slug);
  for (const old of earlier.slice(0, Math.max(0, earlier.length - (kept_grades_per_submission_max - 1)))) rmSync(path.join(labDir, old), { recursive: true, force: true });
  const base = `${slug}-${gradeStamp(at)}`;
  let name = base;
  // Two grades of one submission in the same second (two terminals): the second gets a suffix.
  for (let n = 2; existsSync(path.join(labDir, name)); n++) name = `${base}-${n}`;
  return path.join(labDir, name);
}

/** Removes a grade folder that kept nothing (every test passed). */
export function dropIfEmpty(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
}

/** Removes every kept grade folder under gradeHome (.dslab/grade), or only one lab's; returns the folders removed. */
export function cleanKeptGrades(gradeHome: string, lab?: string): string[] {
  if (lab !== undefined && !/^[a-z0-9-]+$/.test(lab)) throw new UserError(`bad lab name "${lab}"`);
  const labs = lab !== undefined ? [lab] : existsSync(gradeHome) ? readdirSync(gradeHome) : [];
  const removed: string[] = [];
  for (const name of labs) {
    const labDir = path.join(gradeHome, name);
    if (!statSync(labDir, { throwIfNoEntry: false })?.isDirectory()) continue;
    removed.push(...readdirSync(labDir).map((entry) => path.join(labDir, entry)));
    rmSync(labDir, { recursive: true, force: true });
  }
  if (lab === undefined) rmSync(gradeHome, { recursive: true, force: true });
  return removed;
}
