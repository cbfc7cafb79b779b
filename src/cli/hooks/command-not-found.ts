import type { Hook } from '@oclif/core';
import { UserError } from '../../lib/util/errors.js';
import { unknownCommandMessage } from '../command-names.js';
import { commandShape, extraWordsMessage } from '../suggest.js';

/**
 * oclif calls this when no command matches; bin/run.js prints the error as one
 * `dslab:` line. With spaces between topics, oclif takes the words after a
 * command that has no arguments as more of the command's name ("down nc-y" is
 * looked up as down:nc-y), so a command named by the leading words means the
 * rest are words too many, not an unknown command.
 */
const hook: Hook.CommandNotFound = async function ({ id, config }) {
  const words = id.split(':');
  for (let length = words.length - 1; length > 0; length--) {
    const command = config.findCommand(words.slice(0, length).join(':'));
    if (command) throw new UserError(extraWordsMessage(commandShape(command), words.slice(length)));
  }
  throw new UserError(unknownCommandMessage(id, config.commandIDs));
};

export default hook;
