// Orders the test files for vitest's two lanes: the files known to take longest start first, so no
// long file is left running alone at the end (on a clean clone vitest has no timings of its own and
// starts the largest files first, which put a 70 s lab file at the end of the last run).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds each long file took in a clean CI run (test/file-seconds.json, from its test-results.json). */
const file_seconds: Readonly<Record<string, number>> = JSON.parse(readFileSync(new URL('../file-seconds.json', import.meta.url), 'utf8')) as Record<string, number>;

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const seconds = (file: TestSpecification) => file_seconds[path.relative(file.project.config.root, file.moduleId).split(path.sep).join('/')];
    const known = rest.filter((file) => seconds(file) !== undefined).sort((a, b) => seconds(b)! - seconds(a)!);
    return [...known, ...rest.filter((file) => seconds(file) === undefined)];
  }
}
