import type { Hook } from '@oclif/core';
import { UserError } from '../../lib/util/errors.js';
import { unknownCommandMessage } from '../command-names.js';

/** oclif calls this when no command matches; bin/run.js prints the error as one `dslab:` line. */
const hook: Hook.CommandNotFound = async function ({ id, config }) {
  throw new UserError(unknownCommandMessage(id, config.commandIDs));
};

export default hook;
