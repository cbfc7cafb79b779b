import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkloadHost } from '../../src/lib/plugin.js';
import { WorkloadControls } from '../../src/lib/supervisor/workload-controls.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('dslab-workload-controls-');

const host = (servers: string[]): WorkloadHost => ({
  servers,
  takeClientId: () => 'c2001',
  releaseClientId: () => {},
  request: () => Promise.reject(new Error('no network here')),
  onUnasked: () => () => {},
  leader: () => null,
  now: () => 0,
  after: () => () => {},
});

describe("the supervisor's workload controls", () => {
  it('loads a workload module on its first operation, once, with its group as servers, and shuts it down', async () => {
    const dir = tempDir();
    const module = path.join(dir, 'control.mjs');
    writeFileSync(
      module,
      `globalThis.__loads = (globalThis.__loads ?? 0) + 1;
       export default (host) => ({ run: async (op, args) => ({ description: op + ' on ' + host.servers.join(','), args }), shutdown: async () => { globalThis.__stopped = true; } });`,
    );
    const groups: string[] = [];
    const controls = new WorkloadControls([{ name: 'demo', module, group: 'coordinator' }], (w) => {
      groups.push(w.group);
      return host(['z1', 'z2']);
    });
    expect(await controls.run('demo', 'ping', { a: 1 })).toEqual({ description: 'ping on z1,z2', args: { a: 1 } });
    await controls.run('demo', 'again', {});
    expect((globalThis as { __loads?: number }).__loads).toBe(1);
    expect(groups).toEqual(['coordinator']);
    await controls.shutdown();
    expect((globalThis as { __stopped?: boolean }).__stopped).toBe(true);
    await expect(controls.run('demo', 'ping', {})).rejects.toThrow('the cluster is shutting down');
  });

  it('names the workloads it offers when asked for another, and says when a module cannot load', async () => {
    const dir = tempDir();
    const controls = new WorkloadControls([{ name: 'zk', module: path.join(dir, 'missing.mjs'), group: 'nodes' }], () => host([]));
    await expect(controls.run('kv', 'get', {})).rejects.toThrow('this cluster offers no kv operations (it offers: zk)');
    await expect(controls.run('zk', 'get', {})).rejects.toThrow(/could not load the zk workload's operations from .*missing\.mjs/);
    const none = new WorkloadControls([], () => host([]));
    await expect(none.run('zk', 'get', {})).rejects.toThrow('this cluster offers no zk operations (its system speaks no workload with operations of its own)');
  });
});
