import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { labsDir, loadLab, type LabPlugins } from './spec.js';

/** What a TypeScript starter writes as the module specifier of dslab's node runtime. */
export const runtime_placeholder = '__DSLAB_RUNTIME__';
/** What a TypeScript starter's comments write for the tsx loader that runs it (see tsxLoaderUrl). */
export const tsx_placeholder = '__DSLAB_TSX__';
/** What a starter (TypeScript or Python) writes for the dist/ folder of this dslab installation (the locks starter hands Redis and etcd contenders to dslab's own). */
export const dist_placeholder = '__DSLAB_DIST__';
/** The folder, inside the student's copy, that mirrors labs/ for the files the lab's README links to. */
export const linked_files_dir = 'labs';
/** At most this many linked files are copied with a README (the links between lab READMEs form a small closed set). */
export const linked_files_max = 50;
/**
 * The first and last lines of the block in a Python starter that `lab init`
 * replaces with the message plumbing every Python starter shares (in the
 * repository the block imports that module, so the starter runs from there too).
 */
export const python_plumbing_begin = '# dslab:plumbing-begin';
export const python_plumbing_end = '# dslab:plumbing-end';

/** The one source of the Python starters' message plumbing, under labs/ (whose _shared/ folder is no lab: it has no spec.json). */
export function pythonPlumbingFile(root = labsDir()): string {
  return path.join(root, '_shared', 'python', 'dslab_node.py');
}

/**
 * A Python starter as the student gets it: the plumbing block (from the line
 * python_plumbing_begin to the line python_plumbing_end) replaced by the
 * plumbing's source, so node.py is one file with the standard library only.
 * A starter without the block comes back unchanged. `name` is for the error.
 */
export function inlinePythonPlumbing(source: string, plumbing: string, name: string): string {
  const lines = source.split('\n');
  const begins = lines.flatMap((line, i) => (line === python_plumbing_begin ? [i] : []));
  const ends = lines.flatMap((line, i) => (line === python_plumbing_end ? [i] : []));
  if (begins.length === 0 && ends.length === 0) return source;
  const [begin] = begins;
  const [end] = ends;
  if (begins.length !== 1 || ends.length !== 1 || end! < begin!) {
    throw new UserError(`${name} needs exactly one "${python_plumbing_begin}" line followed by one "${python_plumbing_end}" line`);
  }
  const block = plumbing.endsWith('\n') ? plumbing.slice(0, -1) : plumbing;
  return [...lines.slice(0, begin), block, ...lines.slice(end! + 1)].join('\n');
}

export interface InitResult {
  dir: string;
  /** Every file created, relative to dir. */
  files: string[];
  /** The command that runs one node of the starter code, from the current directory. */
  run: string;
  system: string;
}

/**
 * The tsx loader of this dslab installation, as a file URL for `node --import`.
 * A student's folder is usually outside any project that has tsx installed,
 * where `npx tsx` would fail (or download it); this one is always there, and
 * `node --import` runs the node in one process instead of npm + tsx + node.
 */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/**
 * Copies labs/<id>/starter/<lang>/ (or the starter of the lab it shares one
 * with) into dir, with the lab's README next to it as README.md and the files
 * that README links to (see copyReadme). Python starters get the shared
 * message plumbing inlined (see inlinePythonPlumbing).
 */
export function initLab(id: string, lang: 'python' | 'ts', dir: string, plugins: LabPlugins): InitResult {
  const lab = loadLab(id, plugins);
  const source = path.join(path.dirname(lab.dir), lab.starter ?? lab.id, 'starter', lang);
  if (!existsSync(source)) throw new UserError(`lab ${id} has no ${lang} starter code`);
  const target = path.resolve(dir);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new UserError(`${dir} already exists and is not a folder`);
  if (existsSync(target) && readdirSync(target).length > 0) throw new UserError(`${dir} already exists and is not empty`);
  cpSync(source, target, { recursive: true });
  const starterFiles = readdirSync(target).sort();
  // TypeScript starters import dslab's node runtime and name the tsx that runs them; point both at this installation.
  const runtime = pathToFileURL(fileURLToPath(new URL('../runtime/node.js', import.meta.url))).href;
  const tsx = tsxLoaderUrl();
  // And the modules of its own a lab's system lends its starters (snowflake: the coordinator client).
  const lent = Object.entries(plugins.systems.find((s) => s.name === lab.reference)?.starter_imports ?? {});
  const dist = fileURLToPath(new URL('../..', import.meta.url)).replace(/[/\\]$/, '');
  for (const file of starterFiles.filter((f) => f.endsWith('.ts'))) {
    const full = path.join(target, file);
    let text = readFileSync(full, 'utf8').replaceAll(runtime_placeholder, runtime).replaceAll(tsx_placeholder, tsx).replaceAll(dist_placeholder, dist);
    for (const [placeholder, module] of lent) text = text.replaceAll(placeholder, module.href);
    writeFileSync(full, text);
  }
  const pythonFiles = starterFiles.filter((f) => f.endsWith('.py'));
  if (pythonFiles.length > 0) {
    const plumbing = readFileSync(pythonPlumbingFile(path.dirname(lab.dir)), 'utf8');
    for (const file of pythonFiles) {
      const full = path.join(target, file);
      writeFileSync(full, inlinePythonPlumbing(readFileSync(full, 'utf8'), plumbing, path.join(source, file)).replaceAll(dist_placeholder, dist));
    }
  }
  const copied = copyReadme(lab.dir, target);
  const run = starterCommand(lang, path.relative(process.cwd(), target) || '.');
  return { dir: target, files: [...starterFiles, ...copied], run, system: lab.reference };
}

/** The file a starter runs from, by language: what `lab init` writes and what batch grading looks for in a submission. */
export const starter_entry_files = { python: 'node.py', ts: 'node.ts' } as const;

/** The command that runs one node of a starter (or of a student's code grown from one) in `dir`. */
export function starterCommand(lang: keyof typeof starter_entry_files, dir: string): string {
  const entry = commandWord(path.join(dir, starter_entry_files[lang]));
  return lang === 'python' ? `python3 ${entry}` : `node --import ${commandWord(tsxLoaderUrl())} ${entry}`;
}

/** A word of a --bin command: dslab splits --bin like a shell, and a backslash keeps any other character (a space, a quote) in a word. */
export function commandWord(word: string): string {
  return word.replace(/[^A-Za-z0-9_./:@%+=,-]/g, '\\$&');
}

/**
 * Copies <labDir>/README.md to <target>/README.md, and every file it links to
 * (transitively, through linked Markdown files) that lies inside labs/ to
 * <target>/labs/<the same relative path>. A student's lab folder travels
 * (into their own repository, to another machine), so its links must resolve
 * inside it: keeping labs/' layout in the copy means the links between lab
 * READMEs (`../raft-replication/README.md`) work there unchanged, and only
 * README.md, one folder up, needs its links rewritten. A link to anything
 * else (outside labs/, or a folder) points at this installation's copy by
 * absolute path. Returns the files written, relative to target.
 */
export function copyReadme(labDir: string, target: string, root = labsDir()): string[] {
  const readme = path.join(labDir, 'README.md');
  if (!existsSync(readme)) return [];
  const copyable = (file: string) => {
    const inside = path.relative(root, file);
    return !inside.startsWith('..') && !path.isAbsolute(inside) && existsSync(file) && statSync(file).isFile();
  };
  const mirrored = (file: string) => path.join(target, linked_files_dir, path.relative(root, file));
  const toPosix = (p: string) => p.split(path.sep).join('/');

  const queue: string[] = [];
  const seen = new Set<string>();
  const follow = (file: string, markdown: string) => {
    for (const link of relativeLinks(markdown)) {
      const linked = path.resolve(path.dirname(file), link);
      // Bounded: the shipped READMEs link to a handful of files; anything past the bound stays a link to the installation.
      if (!copyable(linked) || seen.has(linked) || seen.size >= linked_files_max) continue;
      seen.add(linked);
      queue.push(linked);
    }
  };
  /** Where a link from `file` (a README in labs/) should point from its copy at `copy`. */
  const relink = (file: string, copy: string, link: string): string => {
    const linked = path.resolve(path.dirname(file), link);
    if (seen.has(linked)) return toPosix(path.relative(path.dirname(copy), mirrored(linked)));
    return existsSync(linked) ? toPosix(linked) : link;
  };

  const text = readFileSync(readme, 'utf8');
  follow(readme, text);
  const written = ['README.md'];
  const readmeCopy = path.join(target, 'README.md');
  writeFileSync(readmeCopy, rewriteLinks(text, (link) => relink(readme, readmeCopy, link)));
  while (queue.length > 0) {
    const file = queue.shift()!;
    const copy = mirrored(file);
    mkdirSync(path.dirname(copy), { recursive: true });
    if (file.endsWith('.md')) {
      const markdown = readFileSync(file, 'utf8');
      follow(file, markdown);
      writeFileSync(copy, rewriteLinks(markdown, (link) => relink(file, copy, link)));
    } else {
      cpSync(file, copy);
    }
    written.push(toPosix(path.relative(target, copy)));
  }
  return [...written.slice(0, 1), ...written.slice(1).sort()];
}

/** A Markdown link's target that names a file relative to the page: no scheme, not absolute, not only an anchor. */
function isRelativeFileLink(target: string): boolean {
  return target !== '' && !target.startsWith('#') && !target.startsWith('/') && !/^[a-z][a-z0-9+.-]*:/i.test(target);
}

/**
 * Inline links and images `[text](target "title")` and reference definitions
 * `[label]: target`, outside fenced code blocks.
 */
const inline_link = /(\]\()(<[^>]*>|[^)\s]+)/g;
const reference_link = /^(\s{0,3}\[[^\]]+\]:\s*)(<[^>]*>|\S+)/;

/** Calls rewrite(path) for each relative file link (without its #anchor) and puts back what it returns. */
export function rewriteLinks(markdown: string, rewrite: (link: string) => string): string {
  let fenced = false;
  const replace = (target: string): string => {
    const bare = target.startsWith('<') ? target.slice(1, -1) : target;
    if (!isRelativeFileLink(bare)) return target;
    const hash = bare.indexOf('#');
    const file = hash === -1 ? bare : bare.slice(0, hash);
    if (file === '') return target;
    const rewritten = rewrite(decodeURI(file)) + (hash === -1 ? '' : bare.slice(hash));
    return target.startsWith('<') || rewritten.includes(' ') ? `<${rewritten}>` : rewritten;
  };
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s{0,3}(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced || /^\s{0,3}(```|~~~)/.test(line)) return line;
      return line.replace(inline_link, (_, open: string, target: string) => open + replace(target)).replace(reference_link, (_, open: string, target: string) => open + replace(target));
    })
    .join('\n');
}

/** The relative file links of a Markdown page (paths only, anchors dropped). */
export function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  rewriteLinks(markdown, (link) => {
    links.push(link);
    return link;
  });
  return links;
}
