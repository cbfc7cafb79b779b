/**
 * The ids workload's client side, over the control API: ask a worker for ids
 * (`dslab id generate`), and run a load of generate requests while recording
 * a history (`dslab id load`) that the checker judges. The load records what
 * it cannot see in the replies from the event stream: which number each
 * worker reported holding, and the skews, pauses and crashes.
 */
import { writeFileSync } from 'node:fs';
import type { ClusterEvent, ClusterStatus, NodeStatus } from '../../lib/control/api.js';
import type { ControlClient } from '../../lib/control/client.js';
import { definite_error_codes, error_codes, type MessageBody } from '../../lib/protocol/messages.js';
import { errorMessage, UserError } from '../../lib/util/errors.js';
import { epoch_ms_default } from '../../systems/snowflake/core/ids.js';
import { default_layout, parseLayout, type Layout } from '../../systems/snowflake/core/layout.js';
import { checkIdHistory, type IdCheckResult } from './checker.js';
import type { HistoryFault, HistoryHeader, HistoryOp, HistoryRecord, HistoryState } from './history.js';

/** The group snowflake workers run in. */
export const workers_group = 'workers';
/** Ops a load keeps in memory (and writes); a longer or faster load is refused up front. */
export const load_ops_max = 1_000_000;
/** `dslab id load`'s clients and offered rate (requests per second, in total). */
export const id_load_clients_max = 200;
export const id_load_rate_per_s_min = 0.1;
export const id_load_rate_per_s_max = 100_000;
export const generate_timeout_ms_default = 5000;

/** The nodes that hand out ids: the workers group, or every node of a single-group cluster (unique-ids, a --bin node). */
export function idWorkers(status: ClusterStatus): NodeStatus[] {
  const workers = status.nodes.filter((n) => n.group === workers_group);
  return workers.length > 0 ? workers : status.nodes.filter((n) => n.group === undefined || n.group === 'nodes');
}

/** The layout and epoch the cluster's workers report (dslab_state `layout`, `epoch_ms`), or the defaults. */
export function idSettings(status: ClusterStatus | null): { layout: Layout; epoch_ms: number; reported: boolean } {
  for (const node of status ? idWorkers(status) : []) {
    const { layout, epoch_ms } = node.state;
    if (typeof layout === 'string' && typeof epoch_ms === 'number') {
      try {
        return { layout: parseLayout(layout), epoch_ms, reported: true };
      } catch {
        // a node that reports something else under the name: keep looking
      }
    }
  }
  return { layout: default_layout, epoch_ms: epoch_ms_default, reported: false };
}

function pickWorker(status: ClusterStatus, named: string | undefined): string {
  const workers = idWorkers(status);
  if (named !== undefined) {
    if (!status.nodes.some((n) => n.id === named)) throw new UserError(`unknown node "${named}" (workers: ${workers.map((n) => n.id).join(', ')})`);
    return named;
  }
  const up = workers.filter((n) => n.status === 'up');
  const serving = up.filter((n) => n.state.role === 'serving');
  const chosen = serving[0] ?? up[0];
  if (!chosen) throw new UserError('no worker is up');
  return chosen.id;
}

/** An id as text: a string as it is, a number in decimal, anything else (Maelstrom allows any JSON value, an array or an object) as JSON. */
export function idText(id: unknown): string {
  if (typeof id === 'string') return id;
  if (typeof id === 'number' || typeof id === 'bigint') return String(id);
  return JSON.stringify(id) ?? String(id);
}

/** A generate_ok's ids: `ids` for a batch (dslab's extension), else `id`; null when it carries none. */
function replyIds(reply: MessageBody, batch: boolean): unknown[] | null {
  const ids = batch ? reply.ids : [reply.id];
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => id === undefined || id === null)) return null;
  return ids;
}

/**
 * Asks a worker for ids: one generate, or with count, a batch (dslab's
 * extension, `{type: generate, count}` answered with `ids`). A Maelstrom
 * unique-ids node does not know batches: it answers error 10 or 12, or a
 * plain generate_ok with one `id`; then the rest are asked for one generate
 * at a time. The ids come back as text (idText).
 */
export async function generateIds(control: ControlClient, options: { worker?: string; count?: number; timeout_ms: number }): Promise<{ node: string; ids: string[]; batch: boolean }> {
  const status = await control.status();
  const node = pickWorker(status, options.worker);
  const generate = async (count?: number): Promise<MessageBody> => {
    const body: { type: string; count?: number } = count === undefined ? { type: 'generate' } : { type: 'generate', count };
    return (await control.act({ type: 'send', dest: node, body, timeout_ms: options.timeout_ms })).reply as MessageBody;
  };
  const answered = (reply: MessageBody, batch: boolean): unknown[] => {
    if (reply.type === 'error') throw new UserError(`${node} refused: ${String(reply.text ?? `error ${String(reply.code)}`)}`);
    if (reply.type !== 'generate_ok') throw new UserError(`${node} answered generate with ${reply.type}, expected generate_ok`);
    const ids = replyIds(reply, batch);
    if (!ids) throw new UserError(`${node}'s generate_ok carries no ${batch ? 'ids' : 'id'}`);
    return ids;
  };
  if (options.count === undefined) return { node, ids: answered(await generate(), false).map(idText), batch: false };
  const first = await generate(options.count);
  const speaksBatch = first.type === 'generate_ok' && first.ids !== undefined;
  if (speaksBatch) return { node, ids: answered(first, true).map(idText), batch: true };
  const doesNotKnowCount = first.type === 'error' && (Number(first.code) === error_codes.not_supported || Number(first.code) === error_codes.malformed_request);
  const ids = doesNotKnowCount ? [] : answered(first, false);
  while (ids.length < options.count) ids.push(...answered(await generate(), false));
  return { node, ids: ids.map(idText), batch: false };
}

export interface IdLoadOptions {
  clients: number;
  /** Requests per second, over all clients. */
  rate_per_s: number;
  duration_ms: number;
  /** Ids per request: absent for Maelstrom's plain generate. */
  count?: number;
  history_path: string | null;
  timeout_ms: number;
  /** Test hook: the source of randomness for picking workers. */
  random?: () => number;
  /** How the cluster lays out ids, when the caller knows it (the grader, from the test's options); otherwise what the workers report. */
  settings?: { layout: Layout; epoch_ms: number };
}

export interface IdLoadSummary {
  ops: number;
  ids: number;
  ids_per_s: number;
  duration_ms: number;
  history_path: string | null;
  check: IdCheckResult;
}

function stateRecord(t: number, node: string, state: Record<string, unknown>): HistoryState {
  const number = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) ? value : null);
  return { type: 'state', t, node, datacenter: number(state.datacenter), worker: number(state.worker), role: typeof state.role === 'string' ? state.role : null };
}

/**
 * What a load needs of the cluster: `dslab id load` reaches it through the
 * control API (controlCluster), the grader's id_load step through its
 * supervisor in process.
 */
export interface IdLoadCluster {
  status(): Promise<ClusterStatus>;
  /** One request to a node; rejects when it could not be delivered, or with "did not answer" when no reply came in time. */
  send(node: string, body: MessageBody, timeout_ms: number): Promise<MessageBody>;
  /** Streams cluster events (state reports and faults) to onEvent from when `ready` resolves until stop. */
  follow(onEvent: (event: ClusterEvent) => void): { ready: Promise<void>; stop(): void };
}

/** A cluster reached through its control API. */
export function controlCluster(control: ControlClient): IdLoadCluster {
  return {
    status: () => control.status(),
    send: async (node, body, timeout_ms) => (await control.act({ type: 'send', dest: node, body, timeout_ms })).reply as MessageBody,
    follow: (onEvent) => control.follow(onEvent, { exclude: ['client_result', 'rates', 'node_apply'] }),
  };
}

/** Runs the load and checks its history; writes the history when a path is given. */
export async function runIdLoad(control: IdLoadCluster, options: IdLoadOptions): Promise<IdLoadSummary> {
  const expected_ops = Math.ceil((options.rate_per_s * options.duration_ms) / 1000);
  if (expected_ops > load_ops_max) throw new UserError(`that load would make about ${expected_ops} requests; at most ${load_ops_max} fit in one history (lower --rate or --duration)`);
  const random = options.random ?? Math.random;
  const status = await control.status();
  const workers = idWorkers(status).map((n) => n.id);
  if (workers.length === 0) throw new UserError('no worker to load');
  const settings = options.settings ?? idSettings(status);
  const started_ms = Date.now();
  const header: HistoryHeader = { type: 'header', layout: settings.layout, epoch_ms: settings.epoch_ms, started_ms, clock_offsets_ms: { ...status.active_faults.clock_offsets_ms } };
  const records: HistoryRecord[] = [header];
  const last_state = new Map<string, string>();
  const noteState = (t: number, node: string, state: Record<string, unknown>) => {
    if (!workers.includes(node)) return;
    const record = stateRecord(t, node, state);
    const key = `${record.datacenter}/${record.worker}`;
    if (last_state.get(node) === key) return;
    last_state.set(node, key);
    records.push(record);
  };
  for (const node of idWorkers(status)) noteState(started_ms, node.id, node.state);
  const onEvent = (event: ClusterEvent) => {
    if (event.type === 'node_state') noteState(event.t, event.node, event.state);
    else if (event.type === 'node_down') {
      last_state.delete(event.node);
      records.push({ type: 'fault', t: event.t, action: 'down', node: event.node } satisfies HistoryFault);
    } else if (event.type === 'fault') {
      const fault = event.fault;
      if (fault.action === 'skew') records.push({ type: 'fault', t: event.t, action: 'skew', node: fault.node, offset_ms: fault.offset_ms });
      else if (fault.action === 'pause' || fault.action === 'resume' || fault.action === 'kill' || fault.action === 'restart') records.push({ type: 'fault', t: event.t, action: fault.action, node: fault.node });
    }
  };
  const follower = control.follow(onEvent);
  await follower.ready;

  const deadline = started_ms + options.duration_ms;
  const interval_ms = (1000 * options.clients) / options.rate_per_s;
  const client = async (index: number) => {
    let next = started_ms + (interval_ms * index) / options.clients;
    while (next < deadline) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      next += interval_ms;
      const node = workers[Math.floor(random() * workers.length)]!;
      const body: { type: string; count?: number } = { type: 'generate' };
      if (options.count !== undefined) body.count = options.count;
      const invoke_ms = Date.now();
      const op: HistoryOp = { type: 'op', client: index, node, invoke_ms, complete_ms: invoke_ms, outcome: 'unknown' };
      try {
        const reply = await control.send(node, body, options.timeout_ms);
        if (reply.type === 'generate_ok') {
          op.outcome = 'ok';
          // Kept as sent, malformed or not: the checker judges them.
          const ids = options.count === undefined ? [reply.id] : reply.ids;
          op.ids = (Array.isArray(ids) ? ids : []).map(idText);
        } else {
          op.outcome = reply.type === 'error' && definite_error_codes.has(Number(reply.code)) ? 'fail' : 'unknown';
          op.error = String(reply.text ?? reply.type);
        }
      } catch (error) {
        // A request the supervisor could not deliver (node down, not reading) certainly did not happen; a timeout may have.
        const text = errorMessage(error);
        op.outcome = /did not answer/.test(text) ? 'unknown' : 'fail';
        op.error = text;
      }
      op.complete_ms = Date.now();
      records.push(op);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
    // State reports sent just before the last replies arrive a moment later on the event stream.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    follower.stop();
  }
  const duration_ms = Date.now() - started_ms;
  if (options.history_path) writeFileSync(options.history_path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const check = checkIdHistory(records);
  return { ops: records.filter((r) => r.type === 'op').length, ids: check.ids, ids_per_s: Math.round((check.ids * 1000) / duration_ms), duration_ms, history_path: options.history_path, check };
}
