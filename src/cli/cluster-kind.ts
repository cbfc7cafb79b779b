import { fileURLToPath } from 'node:url';
import type { SystemPlugin } from '../lib/plugin.js';

/** What these checks need of a system plugin. */
type SystemShape = Pick<SystemPlugin, 'name' | 'workloads' | 'groups' | 'flags'>;

/**
 * Why a command that talks to one of `workloads` cannot act on a cluster of
 * `system` ("cluster nc runs zab, not raft: start one with dslab up raft"),
 * or null when it can. Only dslab's own node programs are known to speak
 * what their system speaks: a label that names no system (`up mine --bin …`)
 * or a system's label over a --bin node (`command`, the first group's argv,
 * is not one of the system's programs) may speak anything, so they pass.
 */
export function wrongKindMessage(cluster: { name: string; system: string; command: readonly string[] }, workloads: readonly string[], systems: readonly SystemShape[]): string | null {
  const plugin = systems.find((s) => s.name === cluster.system);
  if (!plugin || plugin.workloads.some((w) => workloads.includes(w))) return null;
  const programs = plugin.groups.map((g) => (g.program ? fileURLToPath(g.program) : null));
  if (cluster.command.length > 0 && !programs.includes(cluster.command.at(-1)!)) return null;
  const speakers = systems.filter((s) => s.workloads.some((w) => workloads.includes(w))).map((s) => s.name);
  if (speakers.length === 0) return null;
  return `cluster ${cluster.name} runs ${cluster.system}, not ${listWords(speakers, 'or')}: start one with dslab up ${speakers[0]}`;
}

/**
 * Why `up SYSTEM` refuses a flag another system declares, or null. A system
 * takes the flags of every system all of whose node programs it runs (locks and
 * snowflake run Zab's servers, so Zab's --tick reaches them); a label that
 * names no system takes them all (its --bin node reads them in DSLAB_OPTIONS).
 */
export function foreignFlagMessage(system: string, flag: string, systems: readonly SystemShape[]): string | null {
  const plugin = systems.find((s) => s.name === system);
  const owner = systems.find((s) => flag in s.flags);
  if (!plugin || !owner || takesFlagsOf(plugin, owner)) return null;
  const takers = systems.filter((s) => takesFlagsOf(s, owner)).map((s) => s.name);
  return `--${flag} is an option of ${listWords(takers, 'and')}, not of ${system}`;
}

function takesFlagsOf(system: SystemShape, owner: SystemShape): boolean {
  if (system.name === owner.name) return true;
  const runs = new Set(system.groups.map((g) => g.program?.href));
  const programs = owner.groups.filter((g) => g.program !== undefined);
  return programs.length > 0 && programs.every((g) => runs.has(g.program!.href));
}

/** "a", "a or b", "a, b or c". */
function listWords(words: readonly string[], conjunction: 'or' | 'and'): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} ${conjunction} ${words.at(-1)!}`;
}
