// Application faults (`dslab fail`): what a dslab_fail message carries, and the fault in words.
import { formatDurationMs } from '../util/units.js';

/** An application fault as dslab_fail carries it (see fail_extension in protocol/messages.ts). */
export interface AppFault {
  /** The share of requests answered with an error (0..100). */
  errors_pct: number;
  /** Added to every answer's time. */
  latency_ms: number;
  /** Never answer at all. */
  hang: boolean;
}

export const no_app_fault: AppFault = { errors_pct: 0, latency_ms: 0, hang: false };

export function isNoAppFault(fault: AppFault): boolean {
  return !fault.hang && fault.errors_pct === 0 && fault.latency_ms === 0;
}

/** An application fault in short words: "errors 50%, latency 800ms", "hangs"; "none" when there is none. */
export function describeAppFault(fault: AppFault): string {
  const words: string[] = [];
  if (fault.hang) words.push('hangs');
  if (fault.errors_pct > 0) words.push(`errors ${fault.errors_pct}%`);
  if (fault.latency_ms > 0) words.push(`latency ${formatDurationMs(fault.latency_ms)}`);
  return words.length ? words.join(', ') : 'none';
}
