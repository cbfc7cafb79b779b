import { cpSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { loadLab } from './spec.js';

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
  const source = path.join(lab.dir, 'starter', lang);
  if (!existsSync(source)) throw new UserError(`lab ${id} has no ${lang} starter code`);
  const target = path.resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new UserError(`${dir} already exists and is not empty`);
  cpSync(source, target, { recursive: true });
  const files = readdirSync(target).sort();
  const relative = path.relative(process.cwd(), target) || '.';
  const run = lang === 'python' ? `python3 ${path.join(relative, 'node.py')}` : `npx tsx ${path.join(relative, 'node.ts')}`;
  return { dir: target, files, run, system: lab.reference };
}
