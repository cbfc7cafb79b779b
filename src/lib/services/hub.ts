/**
 * The built-in services of a cluster, addressed like nodes: a node sends to
 * "lin-kv" and gets Maelstrom's answers. The supervisor routes messages to and
 * from them through the router, so their links take faults like any other;
 * the hub only turns a delivered line into reply lines and counts them.
 */
import { parseEnvelope } from '../protocol/messages.js';
import { createRng, type Rng } from '../util/prng.js';
import { LinKv } from './lin-kv.js';
import { LinTso } from './lin-tso.js';
import { LwwKv } from './lww-kv.js';
import { SeqKv } from './seq-kv.js';
import type { Service } from './service.js';

/** Every built-in service, by the name nodes send to. */
export const service_names = ['lin-kv', 'seq-kv', 'lww-kv', 'lin-tso'] as const;

export interface ServiceCounters {
  name: string;
  /** Requests that reached the service (after the router's faults). */
  msgs_in: number;
  /** Replies it sent (they still pass the router's faults on the way back). */
  msgs_out: number;
  /** Replies that were errors. */
  errors: number;
  /** Messages it did not answer: replies sent to it, or lines it could not read. */
  ignored: number;
}

export interface RoutedLine {
  src: string;
  dest: string;
  line: string;
}

export class ServiceHub {
  private readonly services = new Map<string, { service: Service; counters: ServiceCounters }>();

  /** `rng` seeds the services' own generators, so a cluster seed replays their choices. */
  constructor(rng: Rng) {
    const all: Service[] = [new LinKv(), new SeqKv(createRng(rng.int(2 ** 31))), new LwwKv(createRng(rng.int(2 ** 31))), new LinTso()];
    for (const service of all) this.services.set(service.name, { service, counters: { name: service.name, msgs_in: 0, msgs_out: 0, errors: 0, ignored: 0 } });
  }

  get names(): string[] {
    return [...this.services.keys()];
  }

  has(id: string): boolean {
    return this.services.has(id);
  }

  /** A line the router delivered to service `dest`; returns the replies to route back. */
  receive(dest: string, line: string, now_ms: number): RoutedLine[] {
    const entry = this.services.get(dest);
    if (!entry) return [];
    const parsed = parseEnvelope(line);
    if (!parsed.ok) {
      entry.counters.ignored++;
      return [];
    }
    const { src, body } = parsed.envelope;
    entry.counters.msgs_in++;
    const replies = entry.service.handle(src, body, now_ms);
    if (replies.length === 0) entry.counters.ignored++;
    return replies.map((reply) => {
      entry.counters.msgs_out++;
      if (reply.body.type === 'error') entry.counters.errors++;
      return { src: dest, dest: reply.dest, line: JSON.stringify({ src: dest, dest: reply.dest, body: reply.body }) };
    });
  }

  counters(): ServiceCounters[] {
    return [...this.services.values()].map((entry) => ({ ...entry.counters }));
  }
}
