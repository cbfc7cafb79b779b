import { Args } from '@oclif/core';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseCommand } from '../../cli/base.js';
import { loadLab } from '../../lib/grade/spec.js';
import { lab_plugins } from '../../registry.js';

export default class LabShow extends BaseCommand {
  static override summary = "Show a lab: what to build, the exact messages, and its tests.";
  static override examples = ['<%= config.bin %> lab show raft-election'];
  static override args = { lab: Args.string({ required: true, description: 'lab id (see dslab lab list)' }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(LabShow);
    const lab = loadLab(args.lab, lab_plugins);
    const readme = readFileSync(path.join(lab.dir, 'README.md'), 'utf8');
    this.log(readme.trimEnd());
    this.log('');
    this.log('Tests:');
    for (const test of lab.tests) this.log(`  ${test.name.padEnd(34)} ${String(test.points).padStart(3)} points  ${test.description}`);
    return { id: lab.id, title: lab.title, readme, tests: lab.tests };
  }
}
