import { cruise, type ICruiseResult } from 'dependency-cruiser';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';

/**
 * No import cycle anywhere in src/, type-only imports included: a cycle of
 * types still ties the modules' designs together. dependency-cruiser reads
 * the imports with TypeScript's own parser.
 */
async function cruiseSrc(): Promise<ICruiseResult> {
  const reporting = await cruise(
    [path.join(repo_root, 'src')],
    {
      validate: true,
      ruleSet: { forbidden: [{ name: 'no-cycle', severity: 'error', from: {}, to: { circular: true } }] },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      baseDir: repo_root,
    },
    {},
    { tsConfig: { fileName: path.join(repo_root, 'tsconfig.json') } },
  );
  return reporting.output as ICruiseResult;
}

describe('imports in src/', () => {
  it('form no cycle', async () => {
    const result = await cruiseSrc();
    const own = result.modules.filter((module) => module.source.startsWith('src/'));
    // A parser that read nothing would find no cycle: make sure it read the project.
    expect(own.length).toBeGreaterThan(150);
    expect(own.some((module) => module.dependencies.some((dependency) => dependency.resolved.startsWith('src/')))).toBe(true);
    const cycles = result.summary.violations.map((violation) => [violation.from, ...(violation.cycle ?? []).map((step) => step.name)].join(' > '));
    expect(cycles).toEqual([]);
  }, 120_000);
});
