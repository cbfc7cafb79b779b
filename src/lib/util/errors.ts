/**
 * An error caused by the user's input or the state of their cluster, not by a bug.
 * Commands print its message as one line and exit with code 1.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * A client request whose fate is unknown: it reached the node but no answer
 * came (timeout, or the node died). It may or may not have taken effect.
 */
export class IndefiniteError extends UserError {
  override name = 'IndefiniteError';
}

/** An internal invariant broke: a bug. Whoever catches errors to keep going (a node's message loop) must let this one crash the process. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Thrown when an internal invariant breaks: a bug, which must crash loudly. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${message}`);
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
