/**
 * Which anomalies each consistency model forbids (after Adya's levels, with
 * the real-time and session forms for the strict and strong-session models),
 * and from that, which models a set of anomalies rules out.
 */
import type { CycleAnomalyType } from './cycles.js';
import type { DirectAnomaly } from './analysis.js';

export type AnomalyType = CycleAnomalyType | DirectAnomaly['type'];

/** Anomalies no model allows: the history contradicts the data type itself, or a transaction contradicts itself. */
const always: AnomalyType[] = ['internal', 'incompatible-order', 'duplicate-elements', 'garbage-read'];
const pl1: AnomalyType[] = [...always, 'G0'];
const pl2: AnomalyType[] = [...pl1, 'G1a', 'G1b', 'G1c'];
const si: AnomalyType[] = [...pl2, 'G-single'];
const pl3: AnomalyType[] = [...si, 'G2-item'];
const realtime: AnomalyType[] = ['G0-realtime', 'G1c-realtime', 'G-single-realtime', 'G2-item-realtime'];
const process: AnomalyType[] = ['G0-process', 'G1c-process', 'G-single-process', 'G2-item-process'];

/** The models the checker judges, weakest first, each with the anomalies it forbids. */
export const model_anomalies: Readonly<Record<string, readonly AnomalyType[]>> = {
  'read-uncommitted': pl1,
  'read-committed': pl2,
  'snapshot-isolation': si,
  'repeatable-read': pl3,
  serializable: pl3,
  'strong-session-serializable': [...pl3, ...process],
  'strict-serializable': [...pl3, ...realtime, ...process],
};

/** Other names for the same models (Adya's and Elle's). */
export const model_aliases: Readonly<Record<string, string>> = {
  'PL-1': 'read-uncommitted',
  'PL-2': 'read-committed',
  'PL-SI': 'snapshot-isolation',
  'PL-2.99': 'repeatable-read',
  'PL-3': 'serializable',
  '1SR': 'serializable',
  'PL-SS': 'strict-serializable',
  'strong-serializable': 'strict-serializable',
  linearizable: 'strict-serializable',
};

export function canonicalModel(name: string): string | null {
  if (name in model_anomalies) return name;
  return model_aliases[name] ?? null;
}

/** Whether judging `models` needs real-time edges (and, for registers, real-time version order) and process edges. */
export function needsRealtime(models: readonly string[]): boolean {
  return models.some((m) => canonicalModel(m) === 'strict-serializable');
}

export function needsProcess(models: readonly string[]): boolean {
  return models.some((m) => ['strict-serializable', 'strong-session-serializable'].includes(canonicalModel(m) ?? ''));
}

export interface ModelJudgement {
  /** Models of model_anomalies the anomalies found do not rule out (none found of what they forbid). */
  satisfied: string[];
  /** Each ruled-out model with the anomalies that rule it out. */
  ruled_out: Record<string, AnomalyType[]>;
}

export function judgeModels(found: ReadonlySet<AnomalyType>): ModelJudgement {
  const satisfied: string[] = [];
  const ruled_out: Record<string, AnomalyType[]> = {};
  for (const [model, forbidden] of Object.entries(model_anomalies)) {
    const seen = forbidden.filter((a) => found.has(a));
    if (seen.length > 0) ruled_out[model] = seen;
    else satisfied.push(model);
  }
  return { satisfied, ruled_out };
}
