import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { loadLab } from './spec.js';

/** What a TypeScript starter writes as the module specifier of dslab's node runtime. */
export const runtime_placeholder = '__DSLAB_RUNTIME__';

export interface InitResult {
  dir: string;
  files: string[];
  /** The command that runs one node of the starter code. */
  run: string;
  system: string;
}

/** Copies labs/<id>/starter/<lang>/ into dir. */
export function initLab(id: string, lang: 'python' | 'ts', dir: string): InitResult {
  const lab = loadLab(id);
  const source = path.join(path.dirname(lab.dir), lab.starter ?? lab.id, 'starter', lang);
  if (!existsSync(source)) throw new UserError(`lab ${id} has no ${lang} starter code`);
  const target = path.resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new UserError(`${dir} already exists and is not empty`);
  cpSync(source, target, { recursive: true });
  const files = readdirSync(target).sort();
  // TypeScript starters import dslab's node runtime; point them at this installation's copy.
  const runtime = pathToFileURL(fileURLToPath(new URL('../runtime/node.js', import.meta.url))).href;
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    const full = path.join(target, file);
    writeFileSync(full, readFileSync(full, 'utf8').replaceAll(runtime_placeholder, runtime));
  }
  const relative = path.relative(process.cwd(), target) || '.';
  const run = lang === 'python' ? `python3 ${path.join(relative, 'node.py')}` : `npx tsx ${path.join(relative, 'node.ts')}`;
  return { dir: target, files, run, system: lab.reference };
}
