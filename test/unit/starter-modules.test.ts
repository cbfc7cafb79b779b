// A TypeScript starter loads some of dslab's own modules from this installation: its node runtime, and
// what the lab's system lends it (the locks lab: the contender and the ZooKeeper client; the snowflake
// lab: the client). Each module a written starter names must exist, so a module that moves takes its
// starters along instead of breaking them only when a student runs one.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initLab } from '../../src/lib/grade/init.js';
import { listLabIds } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-starter-modules-');

/** The files of dslab's a written TypeScript starter imports: `${dist}/….js` paths and file: URLs. */
function modulesNamed(starter: string): string[] {
  const dist = /^const dist = '([^']+)';$/m.exec(starter)?.[1];
  const under_dist = [...starter.matchAll(/\$\{dist\}\/([\w/.-]+\.js)/g)].map(([, relative]) => {
    expect(dist, 'a starter that loads modules from ${dist} defines dist').toBeDefined();
    return path.join(dist!, relative!);
  });
  const by_url = [...starter.matchAll(/from '(file:[^']+)'/g)].map(([, url]) => fileURLToPath(url!));
  return [...under_dist, ...by_url];
}

/** Built, a module is its .js; run from source (as here), its .ts. */
function moduleExists(file: string): boolean {
  return existsSync(file) || existsSync(file.replace(/\.js$/, '.ts'));
}

/** The modules the starter `dslab lab init LAB --lang ts` writes names. */
function writtenStarterModules(lab: string): string[] {
  const dir = path.join(tempDir(), 'mine');
  initLab(lab, 'ts', dir, lab_plugins);
  return modulesNamed(readFileSync(path.join(dir, 'node.ts'), 'utf8'));
}

describe("the modules of dslab's a TypeScript starter loads", () => {
  it.each(listLabIds())('%s: every one exists', (lab) => {
    for (const file of writtenStarterModules(lab)) expect(moduleExists(file), `${lab}'s starter loads ${file}, which does not exist`).toBe(true);
  });

  it('include the ZooKeeper client, for the locks and snowflake starters', () => {
    const client = fileURLToPath(new URL('../../src/lib/zk/client.js', import.meta.url));
    expect(writtenStarterModules('locks')).toContain(client);
    expect(writtenStarterModules('snowflake')).toContain(client);
  });
});
