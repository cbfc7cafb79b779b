import { UserError } from '../../lib/util/errors.js';

/** The workloads `dslab counter` speaks; a cluster of a label that names no system is taken to be a pn-counter (any delta). */
export const counter_workloads = ['pn-counter', 'g-counter'] as const;

/** A delta typed on the command line: an integer, else a one-line refusal. */
export function parseDelta(text: string): number {
  const delta = /^[-+]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(delta)) throw new UserError(`the delta must be an integer, got ${JSON.stringify(text)}`);
  return delta;
}
