import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { ControlClient } from '../../lib/control/client.js';
import { dslabHome, findRunningCluster } from '../../lib/cluster/paths.js';
import { UserError } from '../../lib/util/errors.js';
import { decodeId, parseEpoch, parseId } from '../../systems/snowflake/core/ids.js';
import { parseLayout } from '../../systems/snowflake/core/layout.js';
import { idSettings } from '../../workloads/ids/client.js';
import { formatDecoded } from '../../workloads/ids/format.js';

export default class IdDecode extends BaseCommand {
  static override summary = 'Take an id apart: time (ISO 8601 and ms since the epoch), datacenter, worker, sequence.';
  static override description = "Reads the layout and epoch the running cluster's workers report; without a cluster (or with --layout/--epoch) it uses the ones given, or the defaults (41,5,5,12 from 2018-08-01).";
  static override examples = ['<%= config.bin %> id decode 1103287567727460352', '<%= config.bin %> id decode 442189565449470464 --layout sonyflake'];
  static override args = { id: Args.string({ required: true, description: 'the id, a decimal number' }) };
  static override flags = {
    cluster: Flags.string({ description: 'cluster whose layout and epoch to use (default: the most recently started running cluster, if any)', helpValue: 'NAME' }),
    layout: Flags.string({ description: 'the layout: TIME,DATACENTER,WORKER,SEQUENCE bits (a fifth field is the time unit), twitter or sonyflake', helpValue: 'BITS' }),
    epoch: Flags.string({ description: 'the custom epoch (a UTC date or time, or ms since 1970)', helpValue: 'DATE' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(IdDecode);
    let id: bigint;
    try {
      id = parseId(args.id);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
    let settings = idSettings(null);
    if (flags.layout === undefined || flags.epoch === undefined) {
      // The running cluster's own settings, when there is one; none is not an error.
      let info = null;
      try {
        info = findRunningCluster(dslabHome(), flags.cluster);
      } catch (error) {
        if (flags.cluster !== undefined) throw error;
      }
      if (info) settings = idSettings(await new ControlClient(info).status());
    }
    try {
      const layout = flags.layout !== undefined ? parseLayout(flags.layout) : settings.layout;
      const epoch_ms = flags.epoch !== undefined ? parseEpoch(flags.epoch, Date.now()) : settings.epoch_ms;
      const decoded = decodeId(layout, epoch_ms, id);
      for (const line of formatDecoded(id, decoded, layout, epoch_ms)) this.log(line);
      return { id: id.toString(), time: new Date(decoded.time_ms).toISOString(), ...decoded };
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError((error as Error).message);
    }
  }
}

