import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Invocation {
  /** The CLI's name ("dslab"). */
  bin: string;
  env: NodeJS.ProcessEnv;
  /** The script node ran (process.argv[1]). */
  script: string | undefined;
  cwd: string;
}

/**
 * How to run dslab again from the same directory, the way the user just did,
 * for commands we print for them to paste (replay commands): "npx dslab" under
 * npx or an npm script (whose PATH has node_modules/.bin, which the user's
 * shell does not), "dslab" when that name on PATH is this very script, else
 * "node <script>".
 */
export function invokedAs({ bin, env, script, cwd }: Invocation): string {
  if (env.npm_command === 'exec' || env.npm_lifecycle_event) return `npx ${bin}`;
  if (!script) return bin;
  const onPath = findOnPath(bin, env.PATH ?? '');
  if (onPath !== null && onPath === realpath(script)) return bin;
  const relative = path.relative(cwd, script);
  const shown = relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(cwd, script);
  return `node ${shellWord(shown)}`;
}

/** The real path of the first executable file called `name` in a PATH string, or null. */
function findOnPath(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate) && statSync(candidate).isFile()) return realpath(candidate);
  }
  return null;
}

function realpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/** A path as one shell word: unchanged when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
