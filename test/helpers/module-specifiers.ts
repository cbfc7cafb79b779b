// The TypeScript files under a folder and the module specifiers each names: for tests that check who
// imports what.

import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Every module specifier a file names: static imports and re-exports (statements that begin a line, so
 * a `'from' in x` in code is no import), dynamic import(), and new URL('…', import.meta.url).
 */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const pattern of [/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s+['"]([^'"]+)['"]/g, /new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/g]) {
    for (const match of text.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

/** The .ts and .tsx files under dir, at any depth. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}
