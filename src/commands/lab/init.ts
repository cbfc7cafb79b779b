import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { initLab } from '../../lib/grade/init.js';
import { findSystem, lab_plugins } from '../../registry.js';

export default class LabInit extends BaseCommand {
  static override summary = "Copy a lab's starter code and README into a new folder.";
  static override examples = ['<%= config.bin %> lab init raft-election --lang python ./my-raft', '<%= config.bin %> lab init echo --lang ts ./my-echo'];
  static override args = {
    lab: Args.string({ required: true, description: 'lab id (see dslab lab list)' }),
    dir: Args.string({ required: true, description: 'folder to create (must not exist or be empty)' }),
  };
  static override flags = {
    lang: Flags.string({ options: ['python', 'ts'], default: 'python', description: 'starter code language' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(LabInit);
    const created = initLab(args.lab, flags.lang as 'python' | 'ts', args.dir, lab_plugins);
    this.log(`created ${created.dir} with ${created.files.join(', ')}`);
    this.log(`read it: ${path.join(path.relative(process.cwd(), created.dir) || '.', 'README.md')}`);
    const program = this.program();
    // A system whose --bin replaces one of its groups counts that group by its own flag (snowflake: --workers).
    const system = findSystem(created.system);
    const counted = system?.groups.find((g) => g.name === system.bin_group)?.count_flag ?? 'nodes';
    this.log(`try it: ${program} up ${created.system} --bin "${created.run}" --${counted} 3`);
    this.log(`grade it: ${program} grade ${args.lab} --bin "${created.run}"`);
    return created;
  }
}
