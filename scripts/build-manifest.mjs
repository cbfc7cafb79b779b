// Writes oclif.manifest.json after a build, so each CLI run imports only the command it runs.
import { rmSync, writeFileSync } from 'node:fs';
import { Config } from '@oclif/core';

const root = new URL('..', import.meta.url).pathname;
// oclif would read an existing manifest instead of the commands; build from the commands.
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
const config = await Config.load({ root, devPlugins: false, userPlugins: false });
const plugin = config.getPluginsList().find((p) => p.root === config.root);
if (!plugin || Object.keys(plugin.manifest.commands).length === 0) {
  console.error('build-manifest: found no commands');
  process.exit(1);
}
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), JSON.stringify(plugin.manifest, null, 2) + '\n');
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`);
