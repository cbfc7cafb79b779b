// Every system folder has the one shape src/systems/README.md describes, so a reader of one finds their
// way in another: plugin.ts and main.ts in each, a protocol core in core/ that does no I/O, and a file
// that says in its opening comment what it holds.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo_root } from '../helpers/cli.js';
import { sourceFiles, specifiers } from '../helpers/module-specifiers.js';

const systems_dir = path.join(repo_root, 'src', 'systems');
const systems = readdirSync(systems_dir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const lib = path.join(repo_root, 'src', 'lib');

/** The modules of src/lib a core may import besides its own core/: leaves with no I/O (an error class, ZooKeeper's error table and stat shape). */
const core_lib_imports = ['util/errors.ts', 'zk/errors.ts', 'zk/stat.ts'].map((file) => path.join(lib, file));

/** What a core may not call: the clock (a Date of a given time is only a conversion), global randomness, timers, the process. */
const core_forbidden_calls = /\b(Date\.now|new Date\(\)|Math\.random|performance\.|process\.|setTimeout|setInterval|setImmediate)/;

/** A core file's imports that lead outside its own core/ and the allowed leaves of lib (packages and node: modules included). */
export function coreImportsOutside(file: string, text: string): string[] {
  const core_dir = path.dirname(file);
  return specifiers(text).filter((spec) => {
    if (!spec.startsWith('.')) return true;
    const target = path.resolve(core_dir, spec).replace(/\.js$/, '.ts');
    return !(target.startsWith(core_dir + path.sep) || core_lib_imports.includes(target));
  });
}

/** The code of a file without its comments (line comments and blocks), for looking at calls. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

describe('src/systems', () => {
  it('holds the systems dslab ships', () => {
    expect(systems).toEqual(expect.arrayContaining(['echo', 'locks', 'raft', 'snowflake', 'unique-ids', 'zab']));
  });

  it.each(systems)('%s has its registry entry (plugin.ts) and its node process (main.ts)', (system) => {
    expect(existsSync(path.join(systems_dir, system, 'plugin.ts'))).toBe(true);
    expect(existsSync(path.join(systems_dir, system, 'main.ts'))).toBe(true);
  });

  it('every file opens with a comment saying what it holds', () => {
    const silent = sourceFiles(systems_dir).filter((file) => !readFileSync(file, 'utf8').startsWith('// '));
    expect(silent.map((file) => path.relative(repo_root, file))).toEqual([]);
  });

  it('keeps a protocol core in core/ for raft, zab, snowflake and breaker, importing only itself and leaves of lib', () => {
    for (const system of ['raft', 'zab', 'snowflake', 'breaker']) {
      const core_files = sourceFiles(path.join(systems_dir, system, 'core'));
      expect(core_files.length, `${system}/core/`).toBeGreaterThan(0);
      for (const file of core_files) expect(coreImportsOutside(file, readFileSync(file, 'utf8')), path.relative(repo_root, file)).toEqual([]);
    }
  });

  it('a core reads no clock, no global randomness, no timers and no process', () => {
    const cores = systems.flatMap((system) => (existsSync(path.join(systems_dir, system, 'core')) ? sourceFiles(path.join(systems_dir, system, 'core')) : []));
    const impure = cores.filter((file) => core_forbidden_calls.test(withoutComments(readFileSync(file, 'utf8'))));
    expect(impure.map((file) => path.relative(repo_root, file))).toEqual([]);
  });

  it('the import check refuses what a core may not use', () => {
    const file = path.join(systems_dir, 'raft', 'core', 'core.ts');
    expect(coreImportsOutside(file, "import { readFileSync } from 'node:fs';")).toEqual(['node:fs']);
    expect(coreImportsOutside(file, "import { Wal } from '../../../lib/storage/wal.js';")).toEqual(['../../../lib/storage/wal.js']);
    expect(coreImportsOutside(file, "import { RaftStorage } from '../storage.js';")).toEqual(['../storage.js']);
    expect(coreImportsOutside(file, "import { KvStateMachine } from './kv.js';")).toEqual([]);
    expect(coreImportsOutside(file, "import { InvariantError } from '../../../lib/util/errors.js';")).toEqual([]);
    expect(coreImportsOutside(file, "const changed = 'from' in op && 'to' in op;")).toEqual([]);
  });

  it('the call check tells reading the clock from converting a time', () => {
    expect(core_forbidden_calls.test('const now = Date.now();')).toBe(true);
    expect(core_forbidden_calls.test('const now = new Date();')).toBe(true);
    expect(core_forbidden_calls.test('const r = Math.random();')).toBe(true);
    expect(core_forbidden_calls.test('new Date(ms).toISOString()')).toBe(false);
    expect(core_forbidden_calls.test('Math.min(a, b)')).toBe(false);
  });
});
