import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('src/lib/sim knows no system', () => {
  it('imports nothing from src/systems or src/workloads', () => {
    const dir = join(import.meta.dirname, '../../src/lib/sim');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const imports = [...readFileSync(join(dir, file), 'utf8').matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      expect(imports.length).toBeGreaterThan(0);
      for (const path of imports) expect(path, `${file} imports ${path}`).not.toMatch(/systems|workloads/);
    }
  });
});
