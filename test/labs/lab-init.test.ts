import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCommandString } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLabIds } from '../../src/lib/grade/spec.js';
import { cleanup, dslab, makeWorkdir, repo_root, wait_ms_default } from '../helpers/cli.js';

interface InitJson {
  dir: string;
  files: string[];
  run: string;
  system: string;
}

interface Started {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/**
 * Runs one node the way the supervisor does (its own data directory, init as
 * the first line on stdin), waits for the init_ok line, then closes stdin and
 * waits for the node to exit as the protocol requires.
 */
function initNode(command: string, cwd: string, dataDir: string): Promise<Started> {
  const [file, ...args] = parseCommandString(command);
  const child = spawn(file!, args, { cwd, env: { ...process.env, DSLAB_NODE_ID: 'n1', DSLAB_DATA_DIR: dataDir, DSLAB_OPTIONS: '{}' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (/"init_ok"/.test(stdout)) child.stdin.end();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.write(`${JSON.stringify({ src: 'c0', dest: 'n1', body: { type: 'init', msg_id: 1, node_id: 'n1', node_ids: ['n1', 'n2', 'n3'] } })}\n`);
  return new Promise((resolve) => {
    // A node that never answers is killed at the deadline, and the test then fails on its output.
    const timer = setTimeout(() => child.kill('SIGKILL'), wait_ms_default);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exitCode: code });
    });
  });
}

/**
 * What `dslab lab init` runs, loaded from dist/ as the CLI loads it (the starters name the installation's
 * runtime and tsx by where the code that copies them lives): the command's own work, parsing and printing,
 * is the same for every lab and runs as the CLI in test/labs/grader.test.ts and test/integration/help-examples.
 * `from`: the folder the command it returns is to run from, as `lab init` names it from the user's (default: this process's).
 */
async function installedInitLab(): Promise<(lab: string, lang: 'python' | 'ts', dir: string, from?: string) => InitJson> {
  const dist = (file: string) => pathToFileURL(path.join(repo_root, 'dist', file)).href;
  const { initLab, starterCommand } = (await import(dist('lib/grade/init.js'))) as typeof import('../../src/lib/grade/init.js');
  const { lab_plugins } = (await import(dist('registry.js'))) as typeof import('../../src/registry.js');
  return (lab, lang, dir, from) => {
    const created = initLab(lab, lang, dir, lab_plugins);
    return from === undefined ? created : { ...created, run: starterCommand(lang, path.relative(from, created.dir)) };
  };
}

// Each in its own folder, its copy made in-process (the CLI's `lab init` runs in test/labs/grader.test.ts): side by
// side, with the block below too (both are concurrent), and first, being the longest.
describe.concurrent('a starter that does not compile', () => {
  let initLab: Awaited<ReturnType<typeof installedInitLab>>;
  beforeAll(async () => {
    initLab = await installedInitLab();
  });

  it('makes `dslab up` quote the compiler\'s first error and where it is, not the last stderr line', async () => {
    const cwd = makeWorkdir();
    try {
      const created = initLab('raft-election', 'ts', path.join(cwd, 'my-raft'), cwd);
      const file = path.join(created.dir, 'node.ts');
      // The mistake the shipped starter once had: "*/" inside its doc comment ends the comment early.
      const source = readFileSync(file, 'utf8').split('\n');
      source.splice(2, 0, ' * Read labs/raft-*/README.md first.');
      writeFileSync(file, source.join('\n'));
      const up = await dslab(cwd, 'up', 'raft', '--bin', created.run, '--nodes', '1', '--detach');
      expect(up.exitCode).toBe(1);
      const line = up.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toMatch(/^dslab: n1 exited \(exit code 1\) before answering init; its stderr says: /);
      expect(line).toContain(`${file}:3:`);
      expect(line).toMatch(/ ERROR: /);
      expect(line).not.toContain('TransformError');
    } finally {
      await cleanup(cwd);
    }
  });

  it('makes `dslab up` quote the traceback of a Python node whose init handler failed', async () => {
    const cwd = makeWorkdir();
    try {
      const created = initLab('unique-ids', 'python', path.join(cwd, 'my-ids'), cwd);
      const file = path.join(created.dir, 'node.py');
      const source = readFileSync(file, 'utf8');
      // A typo in on_init: the starter's plumbing logs the traceback and answers init with error 13.
      writeFileSync(file, source.replace(/(def on_init\(\):\n(?:    #.*\n)*)    pass\n/, '$1    load_stat()\n'));
      const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('load_stat()')) + 1;
      expect(line).toBeGreaterThan(0);
      const up = await dslab(cwd, 'up', 'unique-ids', '--bin', created.run, '--nodes', '1', '--detach');
      expect(up.exitCode).toBe(1);
      expect(up.stderr.trim()).toBe(`dslab: n1 answered init with error 13: the node failed while handling this message instead of init_ok; its stderr says: ${file}:${line}: NameError: name 'load_stat' is not defined (\`load_stat()\`) (logs: dslab logs n1 --cluster unique-ids)`);
    } finally {
      await cleanup(cwd);
    }
  });
});

describe.concurrent('dslab lab init gives a node that starts', () => {
  let cwd: string;
  let initLab: Awaited<ReturnType<typeof installedInitLab>>;
  beforeAll(async () => {
    cwd = makeWorkdir();
    initLab = await installedInitLab();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  // In-process rather than a CLI process per lab: a CLI start costs more CPU than the node it starts.
  // Labs that share a starter (spec.json's "starter") get the same code: each distinct copy is started once, and
  // every lab whose copy is byte for byte that code is judged on that node's answers.
  const started = new Map<string, Promise<Started>>();
  const cases = listLabIds().flatMap((lab) => (['python', 'ts'] as const).map((lang) => ({ lab, lang })));
  it.each(cases)('$lab in $lang answers init with init_ok and exits when stdin closes', async ({ lab, lang }) => {
    const created = initLab(lab, lang, path.join(cwd, `${lab}-${lang}`));
    expect(created.files).toContain(lang === 'python' ? 'node.py' : 'node.ts');
    // The code it runs: every file but the README and the pages it links to (a copy's command differs only by its folder).
    const code = created.files.filter((file) => !file.endsWith('.md'));
    const key = JSON.stringify([lang, code.map((file) => [file, readFileSync(path.join(created.dir, file), 'utf8')])]);
    let start = started.get(key);
    if (start === undefined) {
      const dataDir = path.join(cwd, 'data', `${lab}-${lang}`);
      mkdirSync(dataDir, { recursive: true });
      // Its command names the folder from where it was made, this process's folder, as `lab init` names it from the user's.
      start = initNode(created.run, process.cwd(), dataDir);
      started.set(key, start);
    }
    const node = await start;
    const replies = node.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { src: string; dest: string; body: { type: string; in_reply_to?: number } });
    expect(replies.find((m) => m.body.type === 'init_ok'), `no init_ok; stderr: ${node.stderr}`).toMatchObject({ src: 'n1', dest: 'c0', body: { in_reply_to: 1 } });
    expect(node.exitCode, node.stderr).toBe(0);
  });
});
