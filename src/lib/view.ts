// What the supervisor, the dashboard and the grader are told about how to show a system: its role
// vocabulary and its extra dashboard columns. Plain data types: this module imports no behaviour.
import type { RoleVocabulary } from './roles.js';

/**
 * One dashboard column a system adds to the node table, as data: the node's
 * state fields it shows. The generic columns (node, status, role, term or
 * epoch, leader contact, message rates) need no declaring.
 */
export interface ColumnSpec {
  key: string;
  title: string;
  /** State fields shown, the first one a node reports winning; the column appears once any node reports one. */
  fields: readonly string[];
  width: number;
  /** Narrow terminals drop the lowest rank first (the generic columns hold ranks 0, 2, 4 and 5). */
  drop_rank: number;
  /** Also show how far a node's value trails the leader's ("12 -3"): Raft's commit index. */
  lag_behind_leader?: boolean;
}

/** What the supervisor, the dashboard and the grader are told about the system a cluster runs. */
export interface SystemView {
  roles: RoleVocabulary;
  columns: readonly ColumnSpec[];
}
