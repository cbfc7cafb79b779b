import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { copyReadme, dist_placeholder, initLab, inlinePythonPlumbing, pythonPlumbingFile, relativeLinks, rewriteLinks } from '../../src/lib/grade/init.js';
import { labsDir, listLabIds, loadLab } from '../../src/lib/grade/spec.js';
import { lab_plugins } from '../../src/registry.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-lab-init-');

/** Every Markdown file under dir, recursively. */
function markdownFiles(dir: string, relative = ''): string[] {
  return readdirSync(path.join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const name = path.join(relative, entry.name);
    if (entry.isDirectory()) return markdownFiles(dir, name);
    return entry.name.endsWith('.md') ? [name] : [];
  });
}

describe('lab init copies the README with links that resolve in the copy', () => {
  const cases = listLabIds().flatMap((lab) => (['python', 'ts'] as const).map((lang) => ({ lab, lang })));

  it.each(cases)('$lab ($lang)', ({ lab, lang }) => {
    const dir = path.join(tempDir(), 'mine');
    const created = initLab(lab, lang, dir, lab_plugins);
    const original = readFileSync(path.join(loadLab(lab, lab_plugins).dir, 'README.md'), 'utf8');
    const copy = readFileSync(path.join(dir, 'README.md'), 'utf8');
    // The lab's own README, with only its link targets changed.
    expect(copy.split('\n')[0]).toBe(original.split('\n')[0]);
    expect(copy.replace(/\]\([^)]*\)/g, '](…)')).toBe(original.replace(/\]\([^)]*\)/g, '](…)'));
    expect(created.files).toContain('README.md');

    const pages = markdownFiles(dir);
    expect(pages.sort()).toEqual(created.files.filter((f) => f.endsWith('.md')).sort());
    for (const page of pages) {
      for (const link of relativeLinks(readFileSync(path.join(dir, page), 'utf8'))) {
        const linked = path.resolve(dir, path.dirname(page), link);
        // Every link resolves inside the copy, so the folder can move (a student's own repository).
        expect(path.relative(dir, linked).startsWith('..'), `${page} links outside the copy: ${link}`).toBe(false);
        expect(existsSync(linked) && statSync(linked).isFile(), `${page}: ${link} does not resolve`).toBe(true);
      }
    }
    // The starter's own pointers to other labs' READMEs ("Read labs/raft-replication/README.md") resolve too.
    const starter = readFileSync(path.join(dir, lang === 'python' ? 'node.py' : 'node.ts'), 'utf8');
    for (const [mention] of starter.matchAll(/labs\/[a-z0-9-]+\/README\.md/g)) {
      expect(existsSync(path.join(dir, mention)), `the starter mentions ${mention}`).toBe(true);
    }
    expect(starter).not.toMatch(/__DSLAB_[A-Z]+__/);
  });
});

/** The Python starter source each lab's `lab init` starts from, in the repository. */
function pythonStarter(lab: string): string {
  const spec = loadLab(lab, lab_plugins);
  return path.join(labsDir(), spec.starter ?? spec.id, 'starter', 'python', 'node.py');
}

/** Every run of `size` consecutive non-blank lines (trimmed) of a source, as one string per run. */
function runsOfLines(source: string, size: number): Set<string> {
  const lines = source
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const runs = new Set<string>();
  for (let i = 0; i + size <= lines.length; i++) runs.add(lines.slice(i, i + size).join('\n'));
  return runs;
}

describe('the Python starters share one source for their message plumbing', () => {
  const plumbing = readFileSync(pythonPlumbingFile(), 'utf8');
  const python_labs = listLabIds().filter((lab) => existsSync(pythonStarter(lab)));

  it('has a Python starter for every lab, and the plumbing defines the Node class', () => {
    expect(python_labs).toEqual(listLabIds());
    expect(plumbing).toMatch(/^class Node:$/m);
    // labs/_shared is not a lab: it has no spec.json, so `lab list` and the loader pass it by.
    expect(listLabIds()).not.toContain('_shared');
  });

  it.each(python_labs)('lab init %s writes the starter with the plumbing in place of its marker block', (lab) => {
    const starter = readFileSync(pythonStarter(lab), 'utf8');
    // Split at the marker lines here, independently of init.ts: what comes before the block, and after it.
    const block = /^# dslab:plumbing-begin\n(?:.*\n)*?# dslab:plumbing-end\n/m.exec(starter);
    expect(block, 'the starter has a plumbing block').not.toBeNull();
    const before = starter.slice(0, block!.index);
    const after = starter.slice(block!.index + block![0].length);
    expect(before).toMatch(/^#!\/usr\/bin\/env python3\n"""dslab lab/);
    expect(after).toMatch(/\nnode = Node\(\)\n/);

    const dir = path.join(tempDir(), 'mine');
    initLab(lab, 'python', dir, lab_plugins);
    const written = readFileSync(path.join(dir, 'node.py'), 'utf8');
    // A starter that names dslab's build (the locks one hands Redis and etcd contenders to dslab's) gets this installation's: here, running from source, src/.
    const dist = fileURLToPath(new URL('../../src', import.meta.url));
    expect(written).toBe((before + plumbing + after).replaceAll(dist_placeholder, dist));
    expect(written).not.toContain('dslab:plumbing');
    expect(written).not.toMatch(/^from dslab_node import|^import dslab_node/m);
    expect(readdirSync(dir).filter((f) => f.endsWith('.py'))).toEqual(['node.py']);
  });

  it('the starter sources repeat none of it: no 20-line run is shared by two of them or with the plumbing', () => {
    const sources = [...new Set(python_labs.map(pythonStarter)), pythonPlumbingFile()];
    expect(sources.length).toBeGreaterThanOrEqual(4);
    for (const [i, a] of sources.entries()) {
      const runs = runsOfLines(readFileSync(a, 'utf8'), 20);
      for (const b of sources.slice(i + 1)) {
        const shared = [...runsOfLines(readFileSync(b, 'utf8'), 20)].filter((run) => runs.has(run));
        expect(shared[0], `${path.relative(labsDir(), a)} and ${path.relative(labsDir(), b)} share these lines`).toBeUndefined();
      }
    }
  });

  it('inlinePythonPlumbing leaves a file without the block alone and refuses a broken block in one line', () => {
    expect(inlinePythonPlumbing('print(1)\n', 'PLUMBING\n', 'x.py')).toBe('print(1)\n');
    expect(inlinePythonPlumbing('a\n# dslab:plumbing-begin\nimport x\n# dslab:plumbing-end\nb\n', 'P1\nP2\n', 'x.py')).toBe('a\nP1\nP2\nb\n');
    expect(() => inlinePythonPlumbing('a\n# dslab:plumbing-begin\nb\n', 'P\n', 'x.py')).toThrow('x.py needs exactly one "# dslab:plumbing-begin" line followed by one "# dslab:plumbing-end" line');
    expect(() => inlinePythonPlumbing('# dslab:plumbing-end\n# dslab:plumbing-begin\n', 'P\n', 'x.py')).toThrow(/x\.py needs exactly one/);
  });
});

describe('copyReadme', () => {
  it('mirrors what the README links to under labs/, follows links between READMEs once, and points elsewhere at the installation', () => {
    const root = path.join(tempDir(), 'pkg', 'labs');
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write('a/README.md', ['# A', 'See [b](../b/README.md#messages), [spec](spec.json), [top](../../NOTES.md), [web](https://example.org/x.md), [here](#tests), [gone](../nope.md).', '', '```', '[not a link](../b/README.md)', '```', '[ref]: ../b/README.md'].join('\n'));
    write('a/spec.json', '{}');
    write('b/README.md', 'Back to [a](../a/README.md) and [c](../c/notes.md).');
    write('c/notes.md', 'C, which links [b](../b/README.md) again.');
    writeFileSync(path.join(root, '..', 'NOTES.md'), 'outside labs/');
    const target = tempDir();

    const written = copyReadme(path.join(root, 'a'), target, root);

    expect(written).toEqual(['README.md', 'labs/a/README.md', 'labs/a/spec.json', 'labs/b/README.md', 'labs/c/notes.md']);
    const readme = readFileSync(path.join(target, 'README.md'), 'utf8');
    expect(readme).toContain('[b](labs/b/README.md#messages)');
    expect(readme).toContain('[spec](labs/a/spec.json)');
    expect(readme).toContain(`[top](${path.join(root, '..', 'NOTES.md')})`);
    expect(readme).toContain('[web](https://example.org/x.md)');
    expect(readme).toContain('[here](#tests)');
    expect(readme).toContain('[gone](../nope.md)');
    expect(readme).toContain('[not a link](../b/README.md)');
    expect(readme).toContain('[ref]: labs/b/README.md');
    // Links between mirrored files keep labs/' layout, so they stay as they were.
    expect(readFileSync(path.join(target, 'labs', 'b', 'README.md'), 'utf8')).toBe('Back to [a](../a/README.md) and [c](../c/notes.md).');
    expect(readFileSync(path.join(target, 'labs', 'c', 'notes.md'), 'utf8')).toBe('C, which links [b](../b/README.md) again.');
  });

  it('leaves what is not a relative file link alone', () => {
    const seen: string[] = [];
    const text = '[x](mailto:a@b.c) [y](/abs/path.md) [z](<with space/README.md>) ![img](pic.png "title")';
    const out = rewriteLinks(text, (link) => {
      seen.push(link);
      return `new/${link}`;
    });
    expect(seen).toEqual(['with space/README.md', 'pic.png']);
    expect(out).toBe('[x](mailto:a@b.c) [y](/abs/path.md) [z](<new/with space/README.md>) ![img](new/pic.png "title")');
  });

  it('every link in the shipped lab READMEs resolves', () => {
    for (const lab of listLabIds()) {
      const file = path.join(labsDir(), lab, 'README.md');
      for (const link of relativeLinks(readFileSync(file, 'utf8'))) expect(existsSync(path.resolve(path.dirname(file), link)), `${lab}: ${link}`).toBe(true);
    }
  });
});
