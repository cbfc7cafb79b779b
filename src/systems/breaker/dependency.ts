// The dependency's node program (d1): capacity workers, each request taking the service time, a bounded
// FIFO queue for the rest, and the application faults `dslab fail` injects. It works on every request
// it took, whether or not its caller still waits, as a real server does.

import { pathToFileURL } from 'node:url';
import { type AppFault, describeAppFault, isNoAppFault, no_app_fault } from '../../lib/faults/app-fault.js';
import { error_codes, type Envelope } from '../../lib/protocol/messages.js';
import { Node } from '../../lib/runtime/node.js';
import { type DependencyOptions, readBreakerOptions } from './options.js';

/** How often d1 reports its state. */
export const dependency_report_interval_ms = 1000;

/** What d1 does with a request as it arrives. */
export type Arrival = 'refuse_bad' | 'fail' | 'drop' | 'queue_full' | 'serve';

/**
 * The decision at arrival, pure: a hanging d1 answers nothing (it takes no worker: a hang is a server
 * that stopped answering, not one that is busy); an injected error is answered at once (a server
 * failing fast); a bad request is refused; a full queue refuses with error 11; the rest are served.
 */
export function arrival(request: { bad: boolean }, fault: AppFault, queued: number, queue_max: number, draw: number): Arrival {
  if (fault.hang) return 'drop';
  if (request.bad) return 'refuse_bad';
  if (fault.errors_pct > 0 && draw * 100 < fault.errors_pct) return 'fail';
  if (queued >= queue_max) return 'queue_full';
  return 'serve';
}

interface Job {
  message: Envelope;
  arrived_ms: number;
}

export class Dependency {
  fault: AppFault = no_app_fault;
  private readonly queue: Job[] = [];
  private queue_head = 0;
  in_service = 0;
  /** Completions this interval, and their total time in queue and service. */
  private served = 0;
  private served_ms_total = 0;
  /** The last interval's mean time per request (kept while nothing completes). */
  private mean_ms: number | null = null;

  constructor(
    private readonly node: Node,
    readonly options: DependencyOptions,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    this.node.on('work', (message) => this.onWork(message));
    this.node.onFail((fault) => {
      this.fault = fault;
      this.node.log(isNoAppFault(fault) ? 'application fault cleared' : `application fault: ${describeAppFault(fault)}`);
      this.report(false);
    });
    this.node.every(dependency_report_interval_ms, () => this.report(true));
  }

  get queued(): number {
    return this.queue.length - this.queue_head;
  }

  private onWork(message: Envelope): void {
    switch (arrival({ bad: message.body.bad === true }, this.fault, this.queued, this.options.queue_max, this.random())) {
      case 'drop':
        return;
      case 'refuse_bad':
        this.node.replyError(message, error_codes.malformed_request, 'bad request');
        return;
      case 'fail':
        this.node.replyError(message, error_codes.crash, 'injected failure');
        return;
      case 'queue_full':
        this.node.replyError(message, error_codes.temporarily_unavailable, `the queue is full (${this.options.queue_max} requests wait)`);
        return;
      case 'serve':
        this.queue.push({ message, arrived_ms: this.node.now() });
        this.startWork();
    }
  }

  /** Gives free workers the queue's oldest requests. */
  private startWork(): void {
    while (this.in_service < this.options.capacity && this.queued > 0) {
      const job = this.queue[this.queue_head++]!;
      if (this.queue_head > 1024 && this.queue_head * 2 > this.queue.length) {
        this.queue.splice(0, this.queue_head);
        this.queue_head = 0;
      }
      this.in_service++;
      // Latency holds the worker: a slow server is a busy one, and its queue grows.
      this.node.after(this.options.service_ms + this.fault.latency_ms, () => this.finish(job));
    }
  }

  private finish(job: Job): void {
    this.in_service--;
    this.served++;
    this.served_ms_total += this.node.now() - job.arrived_ms;
    // A d1 that began hanging meanwhile answers nothing, even what it already worked on.
    if (!this.fault.hang) this.node.reply(job.message, { type: 'work_ok' });
    this.startWork();
  }

  private report(interval: boolean): void {
    const fields: Record<string, string | number | boolean | null> = { role: 'dependency', queue: this.queued, in_service: this.in_service, capacity: this.options.capacity, fail: isNoAppFault(this.fault) ? null : describeAppFault(this.fault) };
    if (interval) {
      if (this.served > 0) this.mean_ms = Math.round(this.served_ms_total / this.served);
      fields.served_per_s = Math.round((this.served * 1000) / dependency_report_interval_ms);
      this.served = 0;
      this.served_ms_total = 0;
    }
    fields.service_ms = this.mean_ms;
    this.node.reportState(fields);
  }
}

/** Starts d1 on this process's stdio. */
export function runDependency(): void {
  const node = new Node();
  new Dependency(node, readBreakerOptions(process.env).dep).start();
  node.run();
}

// Run as a node program; imported (by main.ts, the tests), it only provides the Dependency.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runDependency();
