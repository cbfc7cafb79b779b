import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsxLoaderUrl } from '../../src/lib/grade/init.js';
import { NodeLog, NodeProcess, stderr_head_lines, stderr_tail_lines } from '../../src/lib/supervisor/node-process.js';
import { explainingLine, explainStderr } from '../../src/lib/util/stderr.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-stderr-');

const lines = (text: string) => text.split('\n');

describe('explainStderr', () => {
  it('quotes esbuild/tsx\'s first transform error with its location, not Node\'s wrapping', () => {
    const stderr = lines(`node:internal/modules/run_main:123
    triggerUncaughtException(
    ^

Error: Transform failed with 2 errors:
/home/s/my-raft/node.ts:94:42: ERROR: Expected ";" but found ")"
/home/s/my-raft/node.ts:97:1: ERROR: Unexpected "}"
    at failureErrorWithLog (/usr/lib/node_modules/dslab/node_modules/esbuild/lib/main.js:1752:15)
    at /usr/lib/node_modules/dslab/node_modules/esbuild/lib/main.js:1019:50 {
  name: 'TransformError'
}

Node.js v20.20.2`);
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/my-raft/node.ts:94:42', message: 'ERROR: Expected ";" but found ")" (and 1 more)' });
    expect(explainingLine(stderr)).toBe('/home/s/my-raft/node.ts:94:42: ERROR: Expected ";" but found ")" (and 1 more)');
  });

  it('quotes tsc and gcc-style diagnostics', () => {
    expect(explainingLine(['node.ts(12,5): error TS2304: Cannot find name \'foo\'.', 'node.ts(13,1): error TS1005: \';\' expected.'])).toBe("node.ts(12,5): error TS2304: Cannot find name 'foo'.");
    expect(explainingLine(['main.c:3:9: error: expected \';\' before \'}\' token', '1 error generated.'])).toBe("main.c:3:9: error: expected ';' before '}' token");
  });

  it('gives a Python SyntaxError with its file, line and source', () => {
    const stderr = lines(`  File "/home/s/my-raft/node.py", line 3
    def f(:
          ^
SyntaxError: invalid syntax`);
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/my-raft/node.py:3', source: 'def f(:', message: 'SyntaxError: invalid syntax' });
    expect(explainingLine(stderr)).toBe('/home/s/my-raft/node.py:3: SyntaxError: invalid syntax (`def f(:`)');
  });

  it('gives a Python exception at its innermost frame, after whatever the node logged first', () => {
    const stderr = lines(`n1 starting, data dir /tmp/d
Traceback (most recent call last):
  File "/home/s/my-raft/node.py", line 700, in <module>
    raft.start()
  File "/home/s/my-raft/node.py", line 512, in start
    self.load()
  File "/home/s/my-raft/node.py", line 540, in load
    self.current_term = saved["term"] + undefined_name
                                        ^^^^^^^^^^^^^^
NameError: name 'undefined_name' is not defined`);
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/my-raft/node.py:540', source: 'self.current_term = saved["term"] + undefined_name', message: "NameError: name 'undefined_name' is not defined" });
  });

  it('explains a chained Python exception by its last link', () => {
    const stderr = lines(`Traceback (most recent call last):
  File "/x/node.py", line 2, in <module>
    {}["k"]
    ~~^^^^^
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/node.py", line 4, in <module>
    raise RuntimeError("could not load state")
RuntimeError: could not load state`);
    expect(explainingLine(stderr)).toBe('/x/node.py:4: RuntimeError: could not load state (`raise RuntimeError("could not load state")`)');
  });

  it('gives Node\'s uncaught error with where it was thrown', () => {
    const stderr = lines(`file:///home/s/echo/node.mjs:3
  throw new Error("boom: cannot open state file");
        ^

Error: boom: cannot open state file
    at go (file:///home/s/echo/node.mjs:3:9)
    at file:///home/s/echo/node.mjs:5:1

Node.js v20.20.2`);
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/echo/node.mjs:3', source: 'throw new Error("boom: cannot open state file");', message: 'Error: boom: cannot open state file' });
  });

  it('names the program\'s own frame when Node threw from its internals', () => {
    const stderr = lines(`node:internal/modules/esm/resolve:283
    throw new ERR_MODULE_NOT_FOUND(
          ^

Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/home/s/nope.js' imported from /home/s/node.mjs
    at finalizeResolution (node:internal/modules/esm/resolve:283:11)
    at moduleResolve (node:internal/modules/esm/resolve:952:10) {
  code: 'ERR_MODULE_NOT_FOUND'
}`);
    expect(explainingLine(stderr)).toBe("Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/home/s/nope.js' imported from /home/s/node.mjs");
    const thrown = lines(`<anonymous_script>:1
{bad
 ^

SyntaxError: Expected property name or '}' in JSON at position 1
    at JSON.parse (<anonymous>)
    at Socket.<anonymous> (file:///home/s/node.mjs:1:39)
    at Socket.emit (node:events:524:28)`);
    expect(explainStderr(thrown)).toEqual({ location: '/home/s/node.mjs:1:39', message: "SyntaxError: Expected property name or '}' in JSON at position 1" });
  });

  it('quotes a plain message: the last line naming a problem, else the last line', () => {
    expect(explainingLine(['listening on stdin', 'config: bad value for election_timeout_ms_min', 'bye'])).toBe('config: bad value for election_timeout_ms_min');
    expect(explainingLine(['starting', 'giving up now'])).toBe('giving up now');
    expect(explainingLine(["thread 'main' panicked at src/main.rs:2:5:", 'state file is corrupt', 'note: run with `RUST_BACKTRACE=1`'])).toBe("thread 'main' panicked at src/main.rs:2:5: state file is corrupt");
    expect(explainingLine(["/usr/bin/python3: can't open file '/home/s/node.py': [Errno 2] No such file or directory"])).toBe("/usr/bin/python3: can't open file '/home/s/node.py': [Errno 2] No such file or directory");
    expect(explainingLine(['', '   '])).toBeUndefined();
  });
});

/** Runs a real program as the supervisor does and waits for it to exit. */
function run(argv: string[], cwd: string): Promise<string[]> {
  return new Promise((resolve) => {
    const log = new NodeLog(path.join(cwd, 'node.log'));
    const proc: NodeProcess = new NodeProcess(argv, { cwd, env: {} }, log, {
      onLine: () => undefined,
      onOversized: () => undefined,
      onExit: () => void log.close().then(() => resolve(proc.stderrTail)),
    });
    proc.closeStdin();
  });
}

describe('what a crashing node leaves in its stderr, end to end', () => {
  it('explains a real Python syntax error, a TypeScript file tsx cannot transform, and a JavaScript throw', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bad.py'), 'import sys\n\ndef start(:\n    pass\n');
    writeFileSync(path.join(dir, 'bad.ts'), '/** see labs/raft-*/README.md */\nconst x: number = 1;\n');
    writeFileSync(path.join(dir, 'throws.mjs'), 'function load() {\n  throw new Error("no state file");\n}\nload();\n');
    expect(explainingLine(await run(['python3', 'bad.py'], dir))).toBe(`${path.join(dir, 'bad.py')}:3: SyntaxError: invalid syntax (\`def start(:\`)`);
    expect(explainingLine(await run([process.execPath, '--import', tsxLoaderUrl(), 'bad.ts'], dir))).toMatch(new RegExp(`^${path.join(dir, 'bad.ts')}:1:\\d+: ERROR: `));
    expect(explainingLine(await run([process.execPath, 'throws.mjs'], dir))).toBe(`${path.join(dir, 'throws.mjs')}:2: Error: no state file (\`throw new Error("no state file");\`)`);
  });

  it('keeps the head and the tail of a long stderr, and at most a few frames of each trace', async () => {
    const dir = tempDir();
    const total = stderr_head_lines + stderr_tail_lines + 30;
    writeFileSync(path.join(dir, 'noisy.mjs'), `for (let i = 1; i <= ${total}; i++) console.error('line ' + i);\nfunction deep(n) { if (n === 0) throw new Error('deep'); deep(n - 1); }\ndeep(20);\n`);
    const kept = await run([process.execPath, 'noisy.mjs'], dir);
    expect(kept.slice(0, stderr_head_lines)).toEqual(Array.from({ length: stderr_head_lines }, (_, i) => `line ${i + 1}`));
    expect(kept[stderr_head_lines]).toMatch(/^\[dslab: \d+ lines not kept here/);
    expect(kept.filter((l) => /^\s+at /.test(l)).length).toBe(3);
    expect(kept.length).toBe(stderr_head_lines + 1 + stderr_tail_lines);
    expect(kept.at(-1)).toMatch(/^Node\.js v/);
    expect(explainingLine(kept)).toBe(`${path.join(dir, 'noisy.mjs')}:2: Error: deep (\`function deep(n) { if (n === 0) throw new Error('deep'); deep(n - 1); }\`)`);
  });
});

describe('a node\'s dying words', () => {
  it('are kept when the output is still coming after the process exited (a wrapper whose child still writes)', async () => {
    const dir = tempDir();
    // The wrapper exits at once; what it started writes the reason a moment later, on the same pipe.
    const kept = await run(['sh', '-c', '(sleep 0.3; echo "FATAL: the last words" >&2) & exit 1'], dir);
    expect(kept.at(-1)).toBe('FATAL: the last words');
  });
});
