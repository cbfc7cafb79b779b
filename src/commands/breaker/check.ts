import { Flags } from '@oclif/core';
import path from 'node:path';
import { DslabCommand } from '../../cli/base.js';
import { dslabHome, findAnyCluster } from '../../lib/cluster/paths.js';
import { UserError } from '../../lib/util/errors.js';
import { checkBreakerCluster } from '../../workloads/breaker/verdict.js';

export default class BreakerCheck extends DslabCommand {
  static override summary = 'Check the breakers from what the router traced: they opened only with cause, short-circuited fast, half-opened and recovered as configured.';
  static override description =
    'Reads the cluster\'s trace (client requests and their replies, the services\' calls to the dependency, the services\' state reports, the faults injected with dslab fail) and its options, and runs the breaker checker: each violation is named in words with its time from the start of the trace, then the figures (requests by outcome, calls per request, breaker changes). Works on a running or a stopped cluster, or with --dir on a kept cluster folder. Exit code 1 when a violation is found.';
  static override examples = ['<%= config.bin %> breaker check', '<%= config.bin %> breaker check --dir .dslab/breaker --json'];
  static override flags = {
    dir: Flags.string({ description: 'check the cluster kept in this folder (its cluster.json and trace.jsonl)', helpValue: 'DIR' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(BreakerCheck);
    const dir = flags.dir ? path.resolve(flags.dir) : findAnyCluster(dslabHome(), flags.cluster).dir;
    const check = checkBreakerCluster(dir);
    if (!check) throw new UserError('no request in the trace yet: run a load first (dslab breaker load --rate 100 --duration 10s)');
    this.log(check.text);
    if (check.result === 'invalid') process.exitCode = 1;
    return check.details;
  }
}
