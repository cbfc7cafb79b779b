import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsxLoaderUrl } from '../../src/lib/grade/init.js';
import { isStackFrameLine, NodeLog, NodeProcess, stderr_head_lines, stderr_tail_lines } from '../../src/lib/supervisor/node-process.js';
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
    expect(explainingLine(["/usr/bin/python3: can't open file '/home/s/node.py': [Errno 2] No such file or directory"])).toBe("/usr/bin/python3: can't open file '/home/s/node.py': [Errno 2] No such file or directory");
    expect(explainingLine(['', '   '])).toBeUndefined();
  });

  it('marks a last line that names no error as only the last line, and one that does as not', () => {
    expect(explainStderr(['n1 starting', 'committed entry 2'])).toEqual({ message: 'committed entry 2', last_line: true });
    expect(explainStderr(['n1 starting', 'cannot open the WAL', 'committed entry 2'])).toEqual({ message: 'cannot open the WAL' });
  });
});

/** A log of ordinary lines before the crash, as a node that logs each step prints. */
const ordinary_log = ['n1 starting', 'n1 became follower in term 1', 'n1 committed entry 1', 'n1 committed entry 2'];

describe('the cause of a crash, picked from a log tail', () => {
  it('Node: an uncaught throw after ordinary logging, not the last ordinary line', () => {
    const stderr = [
      ...ordinary_log,
      ...lines(`file:///home/s/raft/node.mjs:120
      throw new Error(\`log mismatch at index \${i}\`);
            ^

Error: log mismatch at index 3
    at Raft.append (file:///home/s/raft/node.mjs:120:13)
    at Raft.handle (file:///home/s/raft/node.mjs:80:10)

Node.js v20.20.2`),
    ];
    expect(explainStderr(stderr)).toMatchObject({ location: '/home/s/raft/node.mjs:120', message: 'Error: log mismatch at index 3' });
  });

  it('Node: an error the program printed itself with its stack before exiting', () => {
    const stderr = [...ordinary_log, "TypeError: Cannot read properties of undefined (reading 'term')", '    at Raft.onVote (/home/s/raft/node.js:211:30)', '    at Interface.<anonymous> (/home/s/raft/node.js:40:5)', 'n1 exiting'];
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/raft/node.js:211:30', message: "TypeError: Cannot read properties of undefined (reading 'term')" });
  });

  it('Node: an unhandled rejection, thrown from Node internals, names the program frame', () => {
    const stderr = [
      ...ordinary_log,
      ...lines(`node:internal/process/promises:394
    triggerUncaughtException(err, true /* fromPromise */);
    ^

Error: no quorum
    at Raft.commit (/home/s/raft/node.js:99:11)`),
    ];
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/raft/node.js:99:11', message: 'Error: no quorum' });
  });

  it("Python: a traceback's last line, with the innermost frame", () => {
    const stderr = [
      ...ordinary_log,
      ...lines(`Traceback (most recent call last):
  File "/home/s/raft/node.py", line 300, in <module>
    main()
  File "/home/s/raft/node.py", line 120, in handle
    entry = self.log[index]
            ~~~~~~~~^^^^^^^
IndexError: list index out of range`),
    ];
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/raft/node.py:120', source: 'entry = self.log[index]', message: 'IndexError: list index out of range' });
  });

  it("Python: Maelstrom's No handler, raised in its library, and a later traceback over an earlier one", () => {
    const stderr = lines(`Traceback (most recent call last):
  File "/home/s/node.py", line 10, in load
    open("state")
FileNotFoundError: [Errno 2] No such file or directory: 'state'
n1 starting fresh
Traceback (most recent call last):
  File "/home/s/maelstrom.py", line 88, in handle
    raise RuntimeError(f"No handler for {body['type']}")
RuntimeError: No handler for delete`);
    expect(explainStderr(stderr)).toMatchObject({ location: '/home/s/maelstrom.py:88', message: 'RuntimeError: No handler for delete' });
  });

  it('Go: a panic, not the log line before it, at the first frame in the program', () => {
    const stderr = [
      '2026/12/07 12:00:01 n1 committed entry 2',
      ...lines(`panic: runtime error: index out of range [3] with length 3

goroutine 18 [running]:
main.(*server).apply(0xc000120000, {0xc00001a0c0, 0x3})
	/home/s/raft/main.go:212 +0x3a5
github.com/jepsen-io/maelstrom/demo/go.(*Node).handleMessage(0xc0000b0000, {0xc00008c000, 0x4e})
	/root/go/pkg/mod/github.com/jepsen-io/maelstrom/demo/go@v0.0.0/node.go:183 +0x91
created by github.com/jepsen-io/maelstrom/demo/go.(*Node).Run in goroutine 1
	/root/go/pkg/mod/github.com/jepsen-io/maelstrom/demo/go@v0.0.0/node.go:140 +0x36d
exit status 2`),
    ];
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/raft/main.go:212', message: 'panic: runtime error: index out of range [3] with length 3' });
  });

  it('Go: a panic with a value that names no error word, inside the runtime only', () => {
    const stderr = lines(`2026/12/07 12:00:01 got error 11 from lin-kv, retrying
panic: leader lost its lease

goroutine 1 [running]:
runtime.gopanic(0x1)
	/usr/local/go/src/runtime/panic.go:770 +0x132`);
    expect(explainStderr(stderr)).toEqual({ message: 'panic: leader lost its lease' });
    expect(explainingLine(['fatal error: all goroutines are asleep - deadlock!', '', 'goroutine 1 [chan receive]:', 'main.main()', '	/home/s/main.go:9 +0x2d'])).toBe('/home/s/main.go:9: fatal error: all goroutines are asleep - deadlock!');
  });

  it("Go: Maelstrom's \"No handler for\" from log.Fatal, not an earlier line that says error", () => {
    const stderr = ['2026/12/07 12:00:01 got error 20 from lin-kv', '2026/12/07 12:00:02 No handler for {"id":4,"src":"c2","dest":"n1","body":{"type":"delete","key":"k","msg_id":1}}'];
    expect(explainingLine(stderr)).toBe('No handler for {"id":4,"src":"c2","dest":"n1","body":{"type":"delete","key":"k","msg_id":1}}');
  });

  it('Ruby: an uncaught exception, in both quoting styles', () => {
    const stderr = [...ordinary_log, "/home/s/node.rb:42:in 'Node#handle': undefined method '+' for nil (NoMethodError)", "\tfrom /home/s/node.rb:30:in 'block in Node#run'", "\tfrom /home/s/node.rb:28:in 'IO#each_line'"];
    expect(explainStderr(stderr)).toEqual({ location: '/home/s/node.rb:42', message: "NoMethodError: undefined method '+' for nil" });
    expect(explainingLine(["node.rb:7:in `<main>': no state file (RuntimeError)"])).toBe('node.rb:7: RuntimeError: no state file');
  });

  it('Java: the root cause of an uncaught exception, at its first frame', () => {
    const stderr = [
      ...ordinary_log,
      'Exception in thread "main" java.lang.IllegalStateException: cannot persist term',
      '\tat raft.Node.persist(Node.java:88)',
      '\tat raft.Node.main(Node.java:12)',
      'Caused by: java.io.IOException: No space left on device',
      '\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)',
      '\tat raft.Storage.write(Storage.java:41)',
      '\t... 2 more',
    ];
    expect(explainStderr(stderr)).toEqual({ location: 'Storage.java:41', message: 'java.io.IOException: No space left on device' });
    expect(explainingLine(['Exception in thread "main" java.lang.NullPointerException', '\tat raft.Node.vote(Node.java:130)'])).toBe('Node.java:130: java.lang.NullPointerException');
  });

  it('Rust: a panic in the current and the older format', () => {
    expect(explainingLine([...ordinary_log, "thread 'main' panicked at src/main.rs:2:5:", 'state file is corrupt', 'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace'])).toBe("src/main.rs:2:5: thread 'main' panicked: state file is corrupt");
    expect(explainStderr([...ordinary_log, "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/raft.rs:77:31"])).toEqual({ location: 'src/raft.rs:77:31', message: "thread 'main' panicked: called `Option::unwrap()` on a `None` value" });
  });

  it('a FATAL line after it, not ordinary lines', () => {
    expect(explainingLine([...ordinary_log, 'FATAL: term went backwards from 4 to 3', 'n1 shutting down'])).toBe('FATAL: term went backwards from 4 to 3');
  });

  it('a compiler error at the start still wins over what follows it', () => {
    expect(explainingLine(['main.go:3:9: error: undefined: raft', 'panic: cannot build'])).toBe('main.go:3:9: error: undefined: raft');
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

describe('a Go panic in a long stderr', () => {
  it('keeps the panic line when the goroutine trace is longer than the kept tail', async () => {
    const dir = tempDir();
    const frames = Array.from({ length: stderr_tail_lines }, (_, i) => `main.step${i}(0xc000010000)\n\t/home/s/raft/main.go:${100 + i} +0x1d`).join('\n');
    const log = Array.from({ length: stderr_head_lines + 5 }, (_, i) => `2026/12/07 12:00:00 committed entry ${i + 1}`).join('\n');
    writeFileSync(path.join(dir, 'panic.txt'), `${log}\npanic: commit index went backwards\n\ngoroutine 7 [running]:\n${frames}\nexit status 2\n`);
    const kept = await run(['sh', '-c', 'cat panic.txt >&2; exit 2'], dir);
    expect(kept).toContain('panic: commit index went backwards');
    expect(explainingLine(kept)).toBe('/home/s/raft/main.go:100: panic: commit index went backwards');
  });

  it('counts Go, Ruby, JavaScript and Java frames as frames, and a Go function line only inside a trace', () => {
    expect(isStackFrameLine('\t/home/s/main.go:42 +0x1d', false)).toBe(true);
    expect(isStackFrameLine("\tfrom /home/s/node.rb:30:in 'run'", false)).toBe(true);
    expect(isStackFrameLine('    at f (file:///x.mjs:1:2)', false)).toBe(true);
    expect(isStackFrameLine('\tat raft.Node.vote(Node.java:130)', false)).toBe(true);
    expect(isStackFrameLine('main.(*server).apply(0xc000120000, {0xc00001a0c0, 0x3})', true)).toBe(true);
    expect(isStackFrameLine('main.(*server).apply(0xc000120000, {0xc00001a0c0, 0x3})', false)).toBe(false);
    expect(isStackFrameLine('panic: commit index went backwards', true)).toBe(false);
    expect(isStackFrameLine('n1 committed entry 2', false)).toBe(false);
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
