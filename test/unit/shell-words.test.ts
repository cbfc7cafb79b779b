import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { planCluster } from '../../src/lib/cluster/launch.js';
import { gradeTarget } from '../../src/lib/grade/grade.js';
import { loadLab } from '../../src/lib/grade/spec.js';
import { splitShellWords } from '../../src/lib/util/shell-words.js';
import { custom_system_view, lab_plugins } from '../../src/registry.js';
import { echo } from '../../src/systems/echo/plugin.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-shell-words-');

/** What /bin/sh makes of the same text: each word on its own line, NUL-separated. */
function shWords(text: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `for w in ${text}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('splitShellWords', () => {
  const cases: [string, string[]][] = [
    ['python3 node.py', ['python3', 'node.py']],
    ["sh -c 'echo hi'", ['sh', '-c', 'echo hi']],
    ['sh -c "echo hi"', ['sh', '-c', 'echo hi']],
    ['  node\t  a.js  ', ['node', 'a.js']],
    ["node 'my dir/node.js'", ['node', 'my dir/node.js']],
    ['node my\\ dir/node.js', ['node', 'my dir/node.js']],
    ['echo a"b c"d', ['echo', 'ab cd']],
    ["echo 'it'\\''s'", ['echo', "it's"]],
    ['echo "say \\"hi\\""', ['echo', 'say "hi"']],
    ['echo "back\\\\slash"', ['echo', 'back\\slash']],
    ['echo "keep\\n"', ['echo', 'keep\\n']],
    ["echo 'no \\ escapes in single'", ['echo', 'no \\ escapes in single']],
    ["echo '' x", ['echo', '', 'x']],
    ['a=b --flag=x', ['a=b', '--flag=x']],
    ['node a.js#not-a-comment', ['node', 'a.js#not-a-comment']],
    ['', []],
  ];

  it.each(cases)('splits %j as a shell would', (text, words) => {
    expect(splitShellWords(text)).toEqual(words);
  });

  it('agrees with /bin/sh on every case above', () => {
    // The expectations above are not only ours: sh splits each the same way (none of them has anything to expand).
    for (const [text, words] of cases) expect(shWords(text), text).toEqual(words);
  });

  it('joins a backslash-newline', () => {
    expect(splitShellWords('node \\\na.js')).toEqual(['node', 'a.js']);
  });

  it.each([
    ["sh -c 'echo hi", /a single quote is not closed/],
    ['sh -c "echo hi', /a double quote is not closed/],
    ['node a.js \\', /ends with a backslash/],
    ['node a.js | tee log', /the shell character "\|" is not supported.*sh -c/],
    ['node a.js > log', /the shell character ">"/],
    ['node a.js; rm x', /the shell character ";"/],
    ['node a.js &', /the shell character "&"/],
    ['node $HOME/a.js', /the shell character "\$"/],
    ['node "$HOME/a.js"', /inside double quotes, "\$"/],
    ['node `pwd`/a.js', /the shell character "`"/],
    ['node *.js', /the shell character "\*"/],
    ['node ~/a.js', /a word starting with "~"/],
    ['node a.js # comment', /a word starting with "#"/],
  ])('refuses %j instead of guessing', (text, pattern) => {
    expect(() => splitShellWords(text, '--bin')).toThrow(pattern);
    expect(() => splitShellWords(text, '--bin')).toThrow(/^--bin "/);
  });

  it('keeps in single quotes what it refuses outside them', () => {
    expect(splitShellWords("sh -c 'node a.js | tee log; echo $HOME ~ *'")).toEqual(['sh', '-c', 'node a.js | tee log; echo $HOME ~ *']);
  });
});

describe('--bin', () => {
  it('up runs the words a shell would have made', async () => {
    const config = await planCluster({ system: 'mine', known_systems: [], view: custom_system_view, nodes: 1, bin: "sh -c 'echo hi'", init_timeout_ms: 1000, cwd: tempDir() });
    expect(config.groups).toEqual([{ name: 'nodes', prefix: 'n', count: 1, command: ['sh', '-c', 'echo hi'] }]);
  });

  it('grade runs the same words', () => {
    const lab = loadLab('echo', lab_plugins);
    const target = gradeTarget(lab, echo, { bin: 'python3 "my lab/node.py"', reference: false, repeat: 1 });
    expect(target.groups.get(lab.tests[0]!.name)![0]!.command).toEqual(['python3', 'my lab/node.py']);
  });
});
