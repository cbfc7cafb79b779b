import { accessSync, appendFileSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import type { LabResult } from './grade.js';
import { submissionSlug } from './kept.js';
import { notGradedNdjson, toHtml, toJunit, toNdjson, type NotGraded } from './reports.js';

/**
 * The files a grade writes its reports to, checked before the first test runs
 * (a grade takes minutes; a report it cannot write must not cost them), and
 * written afterwards without losing the score when a write still fails.
 */

/** One report file: the flag that named it (for messages) and where it goes. */
export interface OutputFile {
  flag: string;
  /** What it holds, for messages: "JUnit report". */
  what: string;
  file: string;
}

/** Why `file` cannot be written, or null when it can (its folder exists and is writable; it is no folder itself). */
export function outputProblem(file: string): string | null {
  const resolved = path.resolve(file);
  if (existsSync(resolved)) {
    if (statSync(resolved).isDirectory()) return `${file} is a folder: give a file name in it (like ${path.join(file, 'report')})`;
    if (!writable(resolved)) return `${file} exists and is not writable`;
    return null;
  }
  const folder = path.dirname(resolved);
  if (!existsSync(folder)) return `the folder ${folder} does not exist (create it first)`;
  if (!statSync(folder).isDirectory()) return `${folder} is not a folder`;
  if (!writable(folder)) return `the folder ${folder} is not writable`;
  return null;
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws a UserError naming the flag for the first output that cannot be written, or two outputs that name one file. */
export function checkOutputs(outputs: readonly OutputFile[]): void {
  const seen = new Map<string, OutputFile>();
  for (const output of outputs) {
    const problem = outputProblem(output.file);
    if (problem) throw new UserError(`${output.flag}: cannot write the ${output.what} to ${output.file}: ${problem}`);
    const resolved = path.resolve(output.file);
    const other = seen.get(resolved);
    if (other) throw new UserError(`${other.flag} and ${output.flag} both name ${output.file}: give each report its own file`);
    seen.set(resolved, output);
  }
}

/** Writes (or appends) one report; the failure in one line, or null when it was written. */
export function writeOutput(output: OutputFile, text: string, mode: 'replace' | 'append' = 'replace'): string | null {
  try {
    if (mode === 'append') appendFileSync(output.file, text);
    else writeFileSync(output.file, text);
    return null;
  } catch (error) {
    return `could not write the ${output.what} to ${output.file} (${output.flag}): ${errorMessage(error)}`;
  }
}

/** The report files a grade was asked for (its --junit, --html and --summary). */
export interface ReportFlags {
  junit?: string | undefined;
  html?: string | undefined;
  summary?: string | undefined;
}

/** What --html writes for the submission's name: one page per submission in a batch. */
export const html_submission_placeholder = '{}';

/**
 * The files the reports go to, for these submissions: one JUnit file (a suite
 * per submission), one summary file (appended to, a line per test run), and
 * an HTML page per submission (--html with {} for its name; without {} only
 * one submission can have its page).
 */
export function reportOutputs(flags: ReportFlags, submissions: readonly string[]): OutputFile[] {
  const outputs: OutputFile[] = [];
  if (flags.junit !== undefined) outputs.push({ flag: '--junit', what: 'JUnit report', file: flags.junit });
  if (flags.summary !== undefined) outputs.push({ flag: '--summary', what: 'summary', file: flags.summary });
  if (flags.html !== undefined) {
    const template = flags.html;
    if (submissions.length > 1 && !template.includes(html_submission_placeholder)) {
      throw new UserError(`--html: with several submissions, write ${html_submission_placeholder} where each one's name goes, like --html "reports/${html_submission_placeholder}.html" (one page per submission)`);
    }
    for (const submission of submissions) outputs.push(htmlOutput(template, submission));
  }
  return outputs;
}

function htmlOutput(template: string, submission: string): OutputFile {
  return { flag: '--html', what: `HTML report${template.includes(html_submission_placeholder) ? ` of ${submission}` : ''}`, file: template.replaceAll(html_submission_placeholder, submissionSlug(submission)) };
}

/** A report that was written, and where: what to tell the user. */
export interface WrittenReport {
  what: string;
  file: string;
}

/**
 * Writes every report of a grade (a batch's, or one submission's): returns
 * the files written and, for each that could not be, one line saying why.
 * The summary is appended to, so a class's grades collect in one file.
 */
export function writeReports(flags: ReportFlags, results: readonly LabResult[], not_graded: readonly NotGraded[] = []): { written: WrittenReport[]; failures: string[] } {
  const written: WrittenReport[] = [];
  const failures: string[] = [];
  const write = (output: OutputFile, text: string, mode: 'replace' | 'append' = 'replace') => {
    const failure = writeOutput(output, text, mode);
    if (failure) failures.push(failure);
    else written.push({ what: output.what, file: output.file });
  };
  if (flags.junit !== undefined) write({ flag: '--junit', what: 'JUnit report', file: flags.junit }, toJunit(results, not_graded));
  if (flags.summary !== undefined) write({ flag: '--summary', what: 'summary (one JSON line per test run, appended)', file: flags.summary }, results.map(toNdjson).join('') + not_graded.map(notGradedNdjson).join(''), 'append');
  if (flags.html !== undefined) for (const result of results) write(htmlOutput(flags.html, result.submission), toHtml(result));
  return { written, failures };
}
