import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const controlDir = path.resolve('src/lib/control');

/** The module specifiers a TypeScript file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('the control layer', () => {
  it('imports nothing from the supervisor: the supervisor implements ControlTarget, not the other way round', () => {
    const files = readdirSync(controlDir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('server.ts');
    const offending = files.flatMap((f) => importsOf(path.join(controlDir, f)).filter((spec) => spec.includes('/supervisor/')).map((spec) => `${f} imports ${spec}`));
    expect(offending).toEqual([]);
  });
});
