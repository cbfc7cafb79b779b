import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invokedAs } from '../../src/cli/invocation.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-invocation-');

/** A fake installation: <dir>/pkg/bin/run.js, and a bin folder that may link dslab to it. */
function install(linked: boolean) {
  const dir = tempDir();
  const script = path.join(dir, 'pkg', 'bin', 'run.js');
  mkdirSync(path.dirname(script), { recursive: true });
  writeFileSync(script, '');
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  if (linked) symlinkSync(script, path.join(bin, 'dslab'));
  return { dir, script, PATH: `${path.join(dir, 'empty')}${path.delimiter}${bin}` };
}

describe('how dslab was invoked', () => {
  it('says npx dslab under npx and inside npm scripts', () => {
    const { dir, script, PATH } = install(true);
    expect(invokedAs({ bin: 'dslab', env: { PATH, npm_command: 'exec', npm_lifecycle_event: 'npx' }, script, cwd: dir })).toBe('npx dslab');
    expect(invokedAs({ bin: 'dslab', env: { PATH, npm_command: 'run-script', npm_lifecycle_event: 'grade' }, script, cwd: dir })).toBe('npx dslab');
  });

  it('says dslab when that name on PATH is the script that ran', () => {
    const { dir, script, PATH } = install(true);
    expect(invokedAs({ bin: 'dslab', env: { PATH }, script, cwd: dir })).toBe('dslab');
  });

  it('says node <script> when dslab is not on PATH (or is another installation)', () => {
    const { dir, script, PATH } = install(false);
    expect(invokedAs({ bin: 'dslab', env: { PATH }, script, cwd: path.join(dir, 'pkg') })).toBe('node bin/run.js');
    expect(invokedAs({ bin: 'dslab', env: { PATH }, script, cwd: '/' })).toBe(`node ${script.slice(1)}`);
    const other = install(true);
    expect(invokedAs({ bin: 'dslab', env: { PATH: other.PATH }, script, cwd: '/somewhere/else' })).toBe(`node ${script}`);
    const spaced = path.join(dir, 'my dslab', 'run.js');
    expect(invokedAs({ bin: 'dslab', env: { PATH }, script: spaced, cwd: '/elsewhere' })).toBe(`node '${spaced}'`);
  });
});
