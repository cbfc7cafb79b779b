/** A line per cluster event for commands that print raw events (`dslab nemesis`); the dashboard's narrated lines are in lib/dashboard/event-lines.ts. */

import chalk from 'chalk';
import type { ClusterEvent } from '../../lib/control/api.js';
import { describeClientMessage, describeZkConnection } from '../../lib/dashboard/model.js';
import { explainingLine } from '../../lib/util/stderr.js';
import { formatLoadProgress } from './load.js';
import { stateSummary } from './status.js';

/** One line per event, for `nemesis`'s fault lines. Null for events not worth a line. */
export function formatEvent(event: ClusterEvent): string | null {
  const time = new Date(event.t).toISOString().slice(11, 23);
  const line = (text: string) => `${chalk.dim(time)} ${text}`;
  switch (event.type) {
    case 'cluster_up':
      return line(chalk.bold(`cluster ${event.name} up: ${event.system}, nodes ${event.nodes.join(',')}, seed ${event.seed}${event.zk_connect_string ? `, ZooKeeper clients connect to ${event.zk_connect_string}` : ''}`));
    case 'cluster_down':
      return line(chalk.bold(`cluster ${event.name} down`));
    case 'node_up':
      return line(chalk.green(`${event.node} up (pid ${event.pid}${event.restarts ? `, restart ${event.restarts}` : ''})`));
    case 'node_down': {
      const how = event.signal ? `signal ${event.signal}` : `exit code ${event.exit_code}`;
      const tail = !event.expected && event.stderr_tail.length ? `: ${explainingLine(event.stderr_tail)}` : '';
      return line(chalk.red(`${event.node} down (${how})${event.expected ? '' : ' unexpectedly'}${tail}`));
    }
    case 'node_paused':
      return line(chalk.yellow(`${event.node} paused`));
    case 'node_resumed':
      return line(chalk.green(`${event.node} resumed`));
    case 'node_state':
      return line(`${event.node} ${stateSummary(event.state)}`);
    case 'node_note':
      return line(`${event.node} ${event.text}`);
    case 'node_misbehaved':
      return line(chalk.yellow(`${event.node} misbehaved (${event.problem}, ${event.count} so far): ${event.detail}`));
    case 'fault':
      return line(chalk.magenta(`${event.source === 'nemesis' ? 'nemesis: ' : ''}${event.description}`));
    case 'nemesis':
      return line(chalk.magenta(`nemesis ${event.phase} (seed ${event.seed})`));
    case 'notice':
      return line(event.text);
    case 'client_message':
      return line(describeClientMessage(event.node, event.client, event.body));
    case 'zk_connection':
      return line(describeZkConnection(event));
    case 'leader_inferred':
      return line(event.node ? `${event.node} is leader (inferred from client replies: ${event.reason})` : `no inferred leader any more (${event.reason})`);
    case 'load':
      return event.phase === 'progress' ? null : line(`load ${event.phase}: ${formatLoadProgress(event.stats)}`);
    case 'client_result':
    case 'node_apply':
    case 'rates':
      return null;
  }
}
