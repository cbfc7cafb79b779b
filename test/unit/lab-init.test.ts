import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyReadme, initLab, relativeLinks, rewriteLinks } from '../../src/lib/grade/init.js';
import { labsDir, listLabIds, loadLab } from '../../src/lib/grade/spec.js';
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
    const created = initLab(lab, lang, dir);
    const original = readFileSync(path.join(loadLab(lab).dir, 'README.md'), 'utf8');
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
