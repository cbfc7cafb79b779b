import { fileURLToPath } from 'node:url';

export interface SystemSpec {
  name: string;
  description: string;
  /** The node program, relative to this file once built. */
  script: string;
}

/** The built-in systems `dslab up` can start without --bin. */
export const systems: readonly SystemSpec[] = [
  { name: 'echo', description: 'answers echo requests and pings its peers; proves the whole path', script: '../systems/echo/main.js' },
  { name: 'unique-ids', description: 'hands out globally unique ids (Maelstrom unique-ids workload)', script: '../systems/unique-ids/main.js' },
  { name: 'raft', description: 'a Raft-replicated, linearizable key-value store (Maelstrom lin-kv messages)', script: '../systems/raft/main.js' },
];

export function findSystem(name: string): SystemSpec | undefined {
  return systems.find((s) => s.name === name);
}

export function systemCommand(spec: SystemSpec): string[] {
  return [process.execPath, fileURLToPath(new URL(spec.script, import.meta.url))];
}
