import { Args } from '@oclif/core';
import { KvCommand, parseKey } from '../../workloads/lin-kv/cli.js';

/** `kv get`'s exit code for a key that does not exist (1 is every error's). */
export const absent_key_exit_code = 2;

export default class KvGet extends KvCommand {
  static override summary = 'Read a key (linearizable when the system is).';
  static override description = `Exit code 0 when the key has a value, ${absent_key_exit_code} when it does not exist, 1 when the read failed (no answer, an error), so a script can tell absent from present.`;
  static override examples = ['<%= config.bin %> kv get x'];
  // oclif's parse reads only a class's own statics, so inherited flags are restated.
  static override flags = { ...KvCommand.flags };
  static override args = { key: Args.string({ required: true, description: 'key' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(KvGet);
    const result = (await this.runOperation(flags, { f: 'read', key: parseKey(args.key) })) as { result?: unknown };
    // The client reads "key does not exist" (error 20) as a null value.
    if (result.result === null) process.exitCode = absent_key_exit_code;
    return result;
  }
}
