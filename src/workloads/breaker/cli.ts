/** The control API action that runs the breaker workload's operation `op` (runtime.ts): what `dslab breaker load` sends. */
export function breakerAction(op: 'load' | 'load_stop', args: Record<string, unknown> = {}): { type: 'workload'; workload: string; op: string; args: Record<string, unknown> } {
  return { type: 'workload', workload: 'breaker', op, args };
}
