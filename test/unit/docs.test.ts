import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { commands_doc_path, headingAnchor, loadCliDescription, renderCommandsDoc } from '../../scripts/gen-commands-doc.mjs';
import { repo_root } from '../helpers/cli.js';

/** The reader-facing markdown: the README and every page under docs/. */
function docFiles(): string[] {
  const docs = path.join(repo_root, 'docs');
  return [path.join(repo_root, 'README.md'), ...readdirSync(docs).filter((name) => name.endsWith('.md')).map((name) => path.join(docs, name))];
}

/** Markdown without its fenced code blocks. */
function withoutFences(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Markdown with code blanked out, fenced and inline (links there are examples, not links). */
function proseOf(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, '');
}

/** The anchors GitHub gives a page's headings, a repeated heading getting -1, -2, … */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const heading = match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = headingAnchor(heading.replace(/`/g, ''));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** Every link target in a page's prose: [text](target) and ![alt](target). */
export function linksOf(text: string): string[] {
  return [...proseOf(text).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!);
}

/** Why a link from `file` does not resolve, or null when it does. */
export function brokenLink(file: string, target: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // http:, https:, mailto: leave the repository
  const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
  const linked = rawPath === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rawPath));
  if (!linked.startsWith(repo_root)) return `${target} leads outside the repository`;
  if (!existsSync(linked)) return `${target}: no such file`;
  if (anchor === undefined || anchor === '') return null;
  if (statSync(linked).isDirectory() || !linked.endsWith('.md')) return `${target}: an anchor into a file that is not markdown`;
  return anchorsOf(read(linked)).has(anchor) ? null : `${target}: ${path.relative(repo_root, linked)} has no heading with anchor #${anchor}`;
}

describe('docs/commands.md', () => {
  it('is what scripts/gen-commands-doc.mjs makes of the CLI today (run npm run docs when this fails)', () => {
    const expected = renderCommandsDoc(loadCliDescription()) as string;
    const actual = readFileSync(commands_doc_path as string, 'utf8');
    expect(actual === expected, 'docs/commands.md is out of date: run npm run docs').toBe(true);
  });

  it('has a section for every command, with its flags and examples', () => {
    const { manifest } = loadCliDescription() as { manifest: { commands: Record<string, { id: string; flags: Record<string, unknown>; examples?: unknown[] }> } };
    const doc = readFileSync(commands_doc_path as string, 'utf8');
    for (const command of Object.values(manifest.commands)) {
      const heading = `## dslab ${command.id.split(':').join(' ')}`;
      expect(doc.split('\n'), `docs/commands.md lacks ${heading}`).toContain(heading);
      const section = doc.slice(doc.indexOf(`${heading}\n`)).split('\n## ')[0]!;
      for (const flag of Object.keys(command.flags)) expect(section, `${heading} lacks --${flag}`).toContain(`--${flag}`);
      if (command.examples?.length) expect(section).toContain('Examples:');
    }
  });
});

describe('links in README.md and docs/*.md', () => {
  it('finds links outside code, and anchors as GitHub makes them', () => {
    const page = '# The `dslab up` command\n## Faults & heal\n## Faults & heal\nsee [up](#the-dslab-up-command) and `[not](a-link)`\n```\n[nor](this)\n```\n';
    expect(linksOf(page)).toEqual(['#the-dslab-up-command']);
    expect([...anchorsOf(page)]).toEqual(['the-dslab-up-command', 'faults--heal', 'faults--heal-1']);
    const readme = path.join(repo_root, 'README.md');
    expect(brokenLink(readme, '#no-such-heading', () => page)).toMatch(/no heading with anchor #no-such-heading/);
    expect(brokenLink(readme, 'docs/missing.md')).toMatch(/no such file/);
    expect(brokenLink(readme, 'https://example.org/x')).toBeNull();
  });

  for (const file of docFiles()) {
    it(`every relative link and #anchor in ${path.relative(repo_root, file)} resolves`, () => {
      const broken = linksOf(readFileSync(file, 'utf8'))
        .map((target) => brokenLink(file, target))
        .filter((problem) => problem !== null);
      expect(broken).toEqual([]);
    });
  }

  it('names every command of the CLI as `dslab <command>` somewhere', () => {
    const { manifest } = loadCliDescription() as { manifest: { commands: Record<string, { id: string }> } };
    const text = docFiles()
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const missing = Object.values(manifest.commands)
      .map((command) => `dslab ${command.id.split(':').join(' ')}`)
      .filter((name) => !text.includes(name));
    expect(missing).toEqual([]);
  });
});
