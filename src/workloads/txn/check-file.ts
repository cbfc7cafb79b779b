/** The transactional check of a history's lines or file, as `dslab test` and `dslab check` run it. */
import type { HistoryFileCheck, WorkloadPlugin } from '../../lib/plugin.js';
import { checkTxns } from './checker.js';
import type { TxnWorkload } from './history.js';
import { readTxnLines, txnsFromLines, type TxnLine } from './run-history.js';

export function checkTxnLines(lines: readonly TxnLine[], workload: TxnWorkload, models: readonly string[], timeout_ms: number): HistoryFileCheck {
  const { txns, malformed } = txnsFromLines(lines);
  const result = checkTxns(txns, workload, { models, timeout_ms });
  if (malformed.length > 0) {
    // A reply that is not the transaction completed is wrong whatever the model: the node broke the protocol.
    const text = `invalid: ${malformed.length} txn_ok replies are not the transaction sent, completed (first: ${malformed[0]})\n${result.text.replace(/^(valid|invalid|unknown): /, 'the rest: ')}`;
    return { result: 'invalid', text, details: { ...result, malformed } };
  }
  return { result: result.result, text: result.text, details: { ...result } };
}

function txnPlugin(name: 'txn-list-append' | 'txn-rw-register', workload: TxnWorkload, description: string): WorkloadPlugin {
  return {
    name,
    description,
    requests: ['txn'],
    write_requests: ['txn'],
    checks: {},
    // A history on its own names no models: strict-serializable, Maelstrom's default.
    checkFile: (file, timeout_ms) => checkTxnLines(readTxnLines(file), workload, ['strict-serializable'], timeout_ms),
  };
}

export const txn_list_append_workload = txnPlugin('txn-list-append', 'list-append', 'transactions of reads and appends to lists (Maelstrom txn-list-append)');
export const txn_rw_register_workload = txnPlugin('txn-rw-register', 'rw-register', 'transactions of reads and writes of registers (Maelstrom txn-rw-register)');
