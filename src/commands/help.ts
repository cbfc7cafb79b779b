import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { unknownCommandMessage } from '../cli/command-names.js';
import DslabHelp from '../cli/help.js';
import { UserError } from '../lib/util/errors.js';

export default class HelpCommand extends BaseCommand {
  static override summary = 'Show help for dslab, a topic or a command (the same as COMMAND --help).';
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help up', '<%= config.bin %> help kv get'];
  static override args = { command: Args.string({ required: false, description: 'a command or topic, its words separated by spaces' }) };
  static override strict = false;
  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const { argv } = await this.parse(HelpCommand);
    const words = (argv as string[]).filter((word) => !word.startsWith('-'));
    // Help for the longest leading run of words that names a command or topic ("help down now" is down's help).
    let length = words.length;
    while (length > 0 && !this.config.findCommand(words.slice(0, length).join(':')) && !this.config.findTopic(words.slice(0, length).join(':'))) length--;
    if (words.length > 0 && length === 0) throw new UserError(unknownCommandMessage(words.join(':'), this.config.commandIDs));
    await new DslabHelp(this.config, this.config.pjson.oclif.helpOptions).showHelp(words.slice(0, length));
  }
}
