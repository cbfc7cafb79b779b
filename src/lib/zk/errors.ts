// ZooKeeper's error names for the coordinator's client messages, and the node-protocol (Maelstrom)
// error code each one travels as. Maelstrom splits codes into definite (the operation certainly did not
// happen) and indefinite (it may have); a checker relies on that split, so every name below maps onto a
// code whose definiteness matches what ZooKeeper promises for it:
// - the tree refused a write it applied as a txn (NoNode, NodeExists, BadVersion, NotEmpty,
//   NoChildrenForEphemerals, SessionExpired, BadArguments, QuotaExceeded): the txn changed nothing, on
//   every replica, so the code is definite;
// - ConnectionLoss: the client's server went away with the request in flight; the write may still
//   commit, so it must be indefinite (13 crash), never 11, which would tell a checker it did not happen.

import { definite_error_codes, error_codes } from '../protocol/messages.js';

export type ZkErrorName =
  | 'NoNode'
  | 'NodeExists'
  | 'BadVersion'
  | 'NotEmpty'
  | 'NoChildrenForEphemerals'
  | 'SessionExpired'
  | 'ConnectionLoss'
  | 'BadArguments'
  | 'QuotaExceeded'
  | 'Unimplemented'
  | 'NoWatcher'
  | 'RuntimeInconsistency'
  | 'ZxidAhead';

export interface ZkErrorSpec {
  /** The node protocol's error code. */
  readonly code: number;
  /** Why this code, in a few words (shown by docs and tests). */
  readonly why: string;
}

/** The one mapping from ZooKeeper's error names to node-protocol codes. */
export const zk_error_table: Readonly<Record<ZkErrorName, ZkErrorSpec>> = {
  NoNode: { code: error_codes.key_does_not_exist, why: 'the znode (or the parent of a create) does not exist' },
  NodeExists: { code: error_codes.key_already_exists, why: 'a znode already has that path' },
  BadVersion: { code: error_codes.precondition_failed, why: 'the expected version does not match' },
  // A condition on the tree's current state, like BadVersion: it may hold after a later change.
  NotEmpty: { code: error_codes.precondition_failed, why: 'the znode has children' },
  NoChildrenForEphemerals: { code: error_codes.precondition_failed, why: 'the parent is ephemeral' },
  // The session is gone for good; the client must open a new one. Nothing was applied.
  SessionExpired: { code: error_codes.abort, why: 'the session is closed or expired' },
  ConnectionLoss: { code: error_codes.crash, why: 'the server was lost with the request in flight; it may have been applied' },
  BadArguments: { code: error_codes.malformed_request, why: 'the path or data is not valid' },
  QuotaExceeded: { code: error_codes.abort, why: 'a limit of the ensemble was reached' },
  Unimplemented: { code: error_codes.not_supported, why: 'the operation is not supported' },
  // Like NoNode: what the request names (a watch) is not there; nothing changed.
  NoWatcher: { code: error_codes.key_does_not_exist, why: 'the session holds no such watch on that server' },
  // Only inside a failed multi's results: the op was not applied because an earlier op failed.
  RuntimeInconsistency: { code: error_codes.abort, why: 'an earlier op of the same multi failed' },
  // The server is behind the client; it refused before doing anything, so another server may serve it.
  ZxidAhead: { code: error_codes.temporarily_unavailable, why: 'the client has seen a later zxid than this server applied' },
};

export interface ZkError {
  readonly name: ZkErrorName;
  readonly code: number;
  /** One line for a human: what failed and on which path. */
  readonly text: string;
}

export function zkError(name: ZkErrorName, text: string): ZkError {
  return { name, code: zk_error_table[name].code, text };
}

/** Whether a client that got this error knows the operation did not happen. */
export function isDefiniteZkError(name: ZkErrorName): boolean {
  return definite_error_codes.has(zk_error_table[name].code);
}
