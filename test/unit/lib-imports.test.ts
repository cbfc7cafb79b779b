import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';
import { sourceFiles, specifiers } from '../helpers/module-specifiers.js';

/**
 * src/lib knows no system and no workload: it imports nothing from
 * src/systems, src/workloads or src/registry.ts. Systems reach it only as
 * plugins the registry hands over (src/lib/plugin.ts).
 */
const src = path.join(repo_root, 'src');
const forbidden = [path.join(src, 'systems'), path.join(src, 'workloads'), path.join(src, 'registry')];

/** The imports in one file (at `file`, with `text`) that lead out of src/lib into a system, a workload or the registry. */
export function forbiddenImports(file: string, text: string): string[] {
  return specifiers(text).filter((spec) => {
    if (!spec.startsWith('.')) return false;
    const target = path.resolve(path.dirname(file), spec).replace(/\.(js|ts|tsx)$/, '');
    return forbidden.some((root) => target === root || target.startsWith(root + path.sep));
  });
}

describe('src/lib', () => {
  it('imports no system, no workload and not the registry', () => {
    const files = sourceFiles(path.join(src, 'lib'));
    expect(files.length).toBeGreaterThan(50);
    const offending = files.flatMap((file) => forbiddenImports(file, readFileSync(file, 'utf8')).map((spec) => `${path.relative(repo_root, file)} imports ${spec}`));
    expect(offending).toEqual([]);
  });

  it('the scan sees each kind of import that would break the rule', () => {
    const launch = path.join(src, 'lib', 'cluster', 'launch.ts');
    expect(forbiddenImports(launch, "import { election_timeout_ms_min } from '../../systems/raft/core/core.js';")).toEqual(['../../systems/raft/core/core.js']);
    expect(forbiddenImports(launch, "const m = await import('../../workloads/lin-kv/plugin.js');")).toHaveLength(1);
    expect(forbiddenImports(launch, "export { systems } from '../../registry.js';")).toHaveLength(1);
    expect(forbiddenImports(launch, "const main = new URL('../../systems/raft/main.js', import.meta.url);")).toHaveLength(1);
    // Inside lib, and packages, are fine.
    expect(forbiddenImports(launch, "import { x } from '../plugin.js';\nimport { z } from 'zod';")).toEqual([]);
  });
});
