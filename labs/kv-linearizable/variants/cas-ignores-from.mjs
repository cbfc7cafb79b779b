// Planted bug: the store applies every cas as a plain write, whatever the key holds.
import { KvStateMachine } from '../../../dist/systems/raft/core/kv.js';

const execute = KvStateMachine.prototype.execute;
KvStateMachine.prototype.execute = function (op) {
  if (op.type === 'cas') return { ...execute.call(this, { type: 'write', key: op.key, value: op.to }), type: 'cas_ok' };
  return execute.call(this, op);
};
await import('../../../dist/systems/raft/main.js');
