// ZooKeeper's four-letter words: a connection whose first four bytes are one of these gets a text
// answer, in ZooKeeper's format, and is closed. Pure: the server's state and counts come in.

import type { WireServerState } from './host.js';
import type { WireServerStats } from './stats.js';

export const four_letter_words = ['ruok', 'srvr', 'stat', 'mntr', 'isro', 'envi'] as const;
export type FourLetterWord = (typeof four_letter_words)[number];

/** What these answers give as ZooKeeper's version: the protocol this server speaks, and whose it is. */
export const wire_version = '3.8.0-dslab, built on dslab (a Zab coordinator speaking ZooKeeper 3.8\'s client protocol)';

/** Stat's client list: connections listed at most; the rest are counted. */
export const stat_clients_listed_max = 100;

const not_serving = 'This ZooKeeper instance is not currently serving requests\n';

/** An average as Java prints a double: "0.0", "2.5", "1.3333". */
function javaDouble(value: number): string {
  const rounded = Math.round(value * 10_000) / 10_000;
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}

export function isFourLetterWord(word: string): word is FourLetterWord {
  return (four_letter_words as readonly string[]).includes(word);
}

/** ZooKeeper's name for a server's role; null while it serves no one. */
function modeOf(state: WireServerState): string | null {
  if (!state.up) return null;
  switch (state.role) {
    case 'leading':
      return 'leader';
    case 'following':
      return 'follower';
    case 'observing':
      return 'observer';
    default:
      return null;
  }
}

/** The answer to `word`; null for none at all (ruok on a server that is not running). */
export function fourLetterAnswer(word: FourLetterWord, state: WireServerState, stats: WireServerStats): string | null {
  const mode = modeOf(state);
  switch (word) {
    case 'ruok':
      return state.up ? 'imok' : null;
    case 'isro':
      return mode === null ? 'null' : 'rw';
    case 'envi':
      return `Environment:\nzookeeper.version=${wire_version}\nos.name=${process.platform}\nos.arch=${process.arch}\n`;
    case 'srvr':
    case 'stat': {
      if (mode === null) return not_serving;
      const lines = [`Zookeeper version: ${wire_version}`];
      if (word === 'stat') {
        lines.push('Clients:');
        let listed = 0;
        for (const c of stats.connections) {
          if (listed++ >= stat_clients_listed_max) break;
          lines.push(` /${c.client}[1](queued=${c.queued},recved=${c.received},sent=${c.sent})`);
        }
        const more = stats.connections.size - stat_clients_listed_max;
        if (more > 0) lines.push(` (and ${more} more)`);
        lines.push('');
      }
      lines.push(
        `Latency min/avg/max: ${Math.round(stats.latency_ms_min)}/${javaDouble(stats.latency_ms_avg)}/${Math.round(stats.latency_ms_max)}`,
        `Received: ${stats.received}`,
        `Sent: ${stats.sent}`,
        `Connections: ${state.connections}`,
        `Outstanding: ${stats.outstanding}`,
        `Zxid: 0x${BigInt.asUintN(64, state.last_zxid).toString(16)}`,
        `Mode: ${mode}`,
        `Node count: ${state.znodes}`,
      );
      return lines.join('\n') + '\n';
    }
    case 'mntr': {
      if (mode === null) return not_serving;
      const rows: Array<[string, string | number]> = [
        ['zk_version', wire_version],
        ['zk_server_state', mode],
        ['zk_avg_latency', javaDouble(stats.latency_ms_avg)],
        ['zk_max_latency', Math.round(stats.latency_ms_max)],
        ['zk_min_latency', Math.round(stats.latency_ms_min)],
        ['zk_packets_received', stats.received],
        ['zk_packets_sent', stats.sent],
        ['zk_num_alive_connections', state.connections],
        ['zk_outstanding_requests', stats.outstanding],
        ['zk_znode_count', state.znodes],
        ['zk_global_sessions', state.sessions],
      ];
      return rows.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n';
    }
  }
}
